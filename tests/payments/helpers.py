"""Helpers of the PayPal tests: balances read through the ledger, deposits walked through the simulator."""
import uuid

from app.common.transactions import unit_of_work
from app.extensions import db

API = "/api/v1"


def balance(user_id, kind="wallet", currency="USD"):
    from app.payments import ledger

    db.session.rollback()  # read what is committed
    account = ledger.account_for(user_id, kind, currency)
    value = account.balance_minor
    db.session.rollback()
    return value


def fund(user_id, amount, kind="tutor_payable", currency="USD"):
    """Money on a user's account from outside (as settled bookings would put there)."""
    from app.payments import ledger

    with unit_of_work():
        ledger.post("test_funding", [(ledger.platform_account("external:paypal", currency), -amount),
                                     (ledger.account_for(user_id, kind, currency), amount)],
                    currency, "seed")


def spend(user_id, amount, currency="USD"):
    """Wallet money spent elsewhere (as a booking would), so the wallet holds less than the captures."""
    from app.payments import ledger

    with unit_of_work():
        ledger.post("test_spending", [(ledger.account_for(user_id, "wallet", currency), -amount),
                                      (ledger.platform_account("platform_revenue", currency), amount)],
                    currency, "seed")


def ledger_problems():
    from app.payments import ledger

    db.session.rollback()
    return ledger.verify()


def key():
    return {"Idempotency-Key": uuid.uuid4().hex}


def start_deposit(client, headers, amount=2500, currency="USD", extra_headers=None):
    response = client.post(f"{API}/wallet/deposits", json={"amount": amount, "currency": currency},
                           headers={**headers, **(extra_headers or {})})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def captured_deposit(client, headers, paypal, amount=2500, currency="USD"):
    deposit = start_deposit(client, headers, amount, currency)
    paypal.approve(deposit["order_id"])
    response = client.post(f"{API}/wallet/deposits/{deposit['id']}/capture", headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()
