"""Tutor payouts: ``tutor_payable`` money sent to the tutor's saved PayPal email as a PayPal Payout.

The tutor's ``tutor_payable`` row is locked and its balance checked before PayPal is asked (402 above it), and
the ledger moves ``tutor_payable`` -> ``external:paypal`` in the same unit of work once PayPal accepted the
payout; an outage (503) or a refusal by PayPal rolls everything back. PayPal settles the item later: its webhook
(or, when that is lost, the ``jobs.tasks.sync_pending_payouts`` job asking PayPal) marks it succeeded, or failed:
a failed, returned, blocked or refused item returns the money to ``tutor_payable`` once (ledger unique key
``payout:<id>:return``).
"""
import sqlalchemy as sa

from app.common.errors import Conflict, Forbidden, NotFound
from app.common.events import publish
from app.extensions import db
from app.payments import ledger
from app.payments.deposits import EXTERNAL, request_id_for, reserve_balance
from app.payments.paypal import gateway
from app.payments.paypal_models import Payout, PayoutAccount
from app.tutors import services as tutors

# PayPal payout item statuses that mean the money did not reach the tutor and came back to the platform.
FAILED_ITEM_STATES = {"FAILED", "RETURNED", "BLOCKED", "DENIED", "CANCELED", "REFUNDED", "REVERSED"}


def payout_account(user):
    return db.session.get(PayoutAccount, user.id)


def my_payout_account(user):
    account = payout_account(user)
    if account is None:
        raise NotFound("No payout account saved yet.")
    return account


def save_payout_account(user, paypal_email):
    account = db.session.get(PayoutAccount, user.id)
    if account is None:
        account = PayoutAccount(user_id=user.id, paypal_email=paypal_email)
        db.session.add(account)
    else:
        account.paypal_email = paypal_email
    db.session.flush()
    return account


def _check_may_withdraw(user):
    if not user.mfa_enabled:
        raise Forbidden("Payouts need two-factor authentication enabled on your account.")
    if not tutors.is_verified(user.id):
        raise Forbidden("Payouts need a verified tutor profile (approved ID and credential documents).")


def request_payout(user, amount, currency, idempotency_key=None):
    """Withdraw ``amount`` of ``tutor_payable`` to the saved PayPal email."""
    ledger.check_currency(currency)
    ledger.check_amount(amount, "amount")
    _check_may_withdraw(user)
    account = payout_account(user)
    if account is None:
        raise Conflict("Save the PayPal email to pay out to first (PUT /payouts/account).")
    batch_id = request_id_for("payout", user.id, idempotency_key)
    payout = Payout(user_id=user.id, amount_minor=amount, currency=currency, receiver_email=account.paypal_email,
                    status="pending", sender_batch_id=batch_id)
    db.session.add(payout)
    db.session.flush()
    payable = ledger.account_for(user.id, "tutor_payable", currency)
    reserve_balance(payable, amount)  # 402 above the balance, before PayPal is asked
    result = gateway().create_payout(batch_id, account.paypal_email, amount, currency,
                                     note="Your earnings from Tutorhub.")
    external = ledger.platform_account(EXTERNAL, currency)
    transaction = ledger.post("payout", [(payable, -amount), (external, amount)], currency, "payout", payout.id,
                              idempotency_key=idempotency_key, memo="PayPal payout",
                              unique_key=f"payout:{payout.id}")
    payout.ledger_transaction_id = transaction.id
    payout.paypal_batch_id = result.batch_id or None
    db.session.flush()
    publish("payments.payout_requested", payout_id=payout.id, user_id=user.id, amount_minor=amount,
            currency=currency)
    return payout


def settle_payout_item(payout_batch_id, item_status, reason=None):
    """Apply PayPal's final word on a payout's item; returns the outcome for the webhook log."""
    payout = db.session.scalar(sa.select(Payout).where(Payout.paypal_batch_id == payout_batch_id).with_for_update())
    if payout is None:
        return "unmatched"
    if payout.status != "pending":
        return "already_applied"
    if item_status == "SUCCESS":
        payout.status = "succeeded"
        db.session.flush()
        publish("payments.payout_succeeded", payout_id=payout.id, user_id=payout.user_id)
        return "applied"
    if item_status not in FAILED_ITEM_STATES:
        return "ignored"  # still on its way (PENDING, UNCLAIMED, ONHOLD)
    payable = ledger.account_for(payout.user_id, "tutor_payable", payout.currency)
    external = ledger.platform_account(EXTERNAL, payout.currency)
    transaction = ledger.post("payout_return", [(external, -payout.amount_minor), (payable, payout.amount_minor)],
                              payout.currency, "payout", payout.id, memo="PayPal payout returned",
                              unique_key=f"payout:{payout.id}:return")
    payout.status = "failed"
    payout.failure_reason = (reason or item_status)[:200]
    payout.return_transaction_id = transaction.id
    db.session.flush()
    publish("payments.payout_failed", payout_id=payout.id, user_id=payout.user_id, amount_minor=payout.amount_minor,
            currency=payout.currency)
    return "applied"


def pending_payout_ids(older_than, limit=200):
    """Payouts still pending at PayPal since before ``older_than`` (their webhook may have been lost)."""
    return db.session.scalars(sa.select(Payout.id).where(Payout.status == "pending", Payout.created_at < older_than,
                                                         Payout.paypal_batch_id.isnot(None))
                              .order_by(Payout.id).limit(limit)).all()


def sync_payout(payout_id):
    """Ask PayPal for a pending payout's item status and settle it as its webhook would (idempotent)."""
    payout = db.session.get(Payout, payout_id)
    if payout is None or payout.status != "pending" or not payout.paypal_batch_id:
        return "ignored"
    _batch_status, items = gateway().get_payout(payout.paypal_batch_id)
    return settle_payout_item(payout.paypal_batch_id, items[0]) if items else "ignored"


def payouts_query(user):
    return sa.select(Payout).where(Payout.user_id == user.id).order_by(Payout.id.desc())
