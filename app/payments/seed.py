"""Demo wallets (`flask seed-demo`): each demo student's wallet funded by one ledger transaction from
``external:paypal`` with a memo; running it twice changes nothing (a unique key per wallet). The caller's unit of
work commits."""
from app.payments import services

# Amounts in minor units of each currency (JPY has none).
DEMO_WALLETS = {
    "sam.student@tutorhub.test": [(20000, "EUR"), (30000, "USD")],
    "lea.martin@tutorhub.test": [(20000, "JPY")],
}
DEMO_MEMO = "Demo top-up via PayPal"


def seed_wallets(users_by_email):
    for email, amounts in DEMO_WALLETS.items():
        user = users_by_email.get(email)
        if user is None:
            continue
        for amount, currency in amounts:
            services.fund_wallet(user.id, amount, currency, "seed", memo=DEMO_MEMO,
                                 unique_key=f"seed:wallet:{user.id}:{currency}")
