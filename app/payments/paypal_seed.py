"""Demo PayPal data: the demo tutors' payout accounts (their PayPal emails), idempotent."""
from app.payments import payouts

DEMO_PAYOUT_EMAILS = {
    "maria.garcia@tutorhub.test": "maria.garcia.paypal@example.com",
    "james.okafor@tutorhub.test": "james.okafor.paypal@example.com",
}


def seed_payout_accounts(users_by_email):
    for email, paypal_email in DEMO_PAYOUT_EMAILS.items():
        user = users_by_email.get(email)
        if user is not None and payouts.payout_account(user) is None:
            payouts.save_payout_account(user, paypal_email)
