"""Deposits into a wallet through PayPal orders, and refunds of unused deposit money to the capture it came from.

A deposit is a PayPal CAPTURE order; the buyer approves it on PayPal, then the capture credits the wallet once
(``external:paypal`` -> ``wallet``, ledger unique key ``paypal:capture:<capture id>``), whether it comes from
``POST /wallet/deposits/<id>/capture``, its retries, or PayPal's ``PAYMENT.CAPTURE.COMPLETED`` webhook.

Every PayPal call carries a ``PayPal-Request-Id``: derived from the client's Idempotency-Key when there is one
(so a retry after a lost answer gets PayPal's first answer again), random otherwise. Calls run inside the
caller's unit of work, holding the deposit's row lock: an outage raises ``PayPalUnavailable`` (503) and rolls
everything back, so nothing is recorded here that PayPal did not do.
"""
import hashlib
import uuid

import sqlalchemy as sa
from flask import current_app

from app.common.errors import Conflict, Invalid, NotFound
from app.common.events import publish
from app.common.time import utcnow
from app.extensions import db
from app.payments import ledger
from app.payments.models import Account
from app.payments.paypal import PayPalRejected, gateway
from app.payments.paypal_models import Deposit, DepositRefund

EXTERNAL = "external:paypal"


def request_id_for(purpose, user_id, idempotency_key=None):
    """A PayPal-Request-Id: the same for the same user, purpose and Idempotency-Key; random without a key."""
    if idempotency_key:
        digest = hashlib.sha256(f"{user_id}\x00{purpose}\x00{idempotency_key}".encode()).hexdigest()
        return f"{purpose}-{digest[:40]}"
    return f"{purpose}-{uuid.uuid4().hex}"


def _locked(stmt):
    return db.session.scalar(stmt.with_for_update())


def _own_deposit(user, deposit_id, lock=False):
    stmt = sa.select(Deposit).where(Deposit.id == deposit_id)
    deposit = _locked(stmt) if lock else db.session.scalar(stmt)
    if deposit is None or (deposit.user_id != user.id and not user.is_admin):
        raise NotFound("Deposit not found.")
    return deposit


def create_deposit(user, amount, currency, idempotency_key=None):
    """A PayPal order for ``amount`` minor units; the client sends the buyer to its ``approve_url``."""
    ledger.check_currency(currency)
    ledger.check_amount(amount, "amount")
    request_id = request_id_for("deposit", user.id, idempotency_key)
    config = current_app.config
    order = gateway().create_order(amount, currency, request_id=request_id, reference=request_id,
                                   return_url=config.get("PAYPAL_RETURN_URL"),
                                   cancel_url=config.get("PAYPAL_CANCEL_URL"))
    existing = db.session.scalar(sa.select(Deposit).where(Deposit.order_id == order.id))
    if existing is not None:  # PayPal replayed an order we already recorded
        return existing
    deposit = Deposit(user_id=user.id, amount_minor=amount, currency=currency, status="created",
                      request_id=request_id, order_id=order.id, approve_url=order.approve_url, refunded_minor=0)
    db.session.add(deposit)
    db.session.flush()
    publish("payments.deposit_created", deposit_id=deposit.id, user_id=user.id, amount_minor=amount,
            currency=currency)
    return deposit


def capture_deposit(user, deposit_id, idempotency_key=None):
    """Capture the approved order and credit the wallet; a second capture of the same deposit is 409."""
    deposit = _own_deposit(user, deposit_id, lock=True)
    if deposit.status == "captured":
        raise Conflict("This deposit is already captured.")
    try:
        order = gateway().capture_order(deposit.order_id, request_id=f"capture-{deposit.request_id}")
    except PayPalRejected as error:
        if error.issue == "ORDER_ALREADY_CAPTURED":  # captured before, our record of it was lost: take it
            order = gateway().get_order(deposit.order_id)
        elif error.issue in ("ORDER_NOT_APPROVED", "PAYER_ACTION_REQUIRED"):
            raise Conflict("The buyer has not approved this payment on PayPal yet.",
                           errors={"approve_url": deposit.approve_url}) from None
        else:
            raise
    if order.capture_status != "COMPLETED":
        raise Conflict(f"PayPal holds the capture as {order.capture_status or order.status}; the wallet is "
                       "credited when PayPal completes it.")
    credit_capture(deposit, order.capture_id, order.captured_cents, idempotency_key)
    return deposit


def credit_capture(deposit, capture_id, captured_minor, idempotency_key=None):
    """Record the capture on the (locked) deposit and credit the wallet, once."""
    if deposit.status == "captured":
        return False
    wallet = ledger.account_for(deposit.user_id, "wallet", deposit.currency)
    external = ledger.platform_account(EXTERNAL, deposit.currency)
    transaction = ledger.post("deposit", [(external, -captured_minor), (wallet, captured_minor)], deposit.currency,
                              "deposit", deposit.id, idempotency_key=idempotency_key, memo="PayPal deposit",
                              unique_key=f"paypal:capture:{capture_id}")
    deposit.status = "captured"
    deposit.capture_id = capture_id
    deposit.captured_minor = captured_minor
    deposit.captured_at = utcnow()
    deposit.ledger_transaction_id = transaction.id
    db.session.flush()
    publish("payments.deposit_captured", deposit_id=deposit.id, user_id=deposit.user_id,
            amount_minor=captured_minor, currency=deposit.currency)
    return True


def reserve_balance(account, amount):
    """Lock the account's row and check it holds ``amount`` (else 402), before money is asked of PayPal.

    The row stays locked until the unit commits, so the balance cannot drop in between; the ledger posting
    itself comes after PayPal's answer, so the shared ``external:paypal`` row is locked only briefly."""
    held = db.session.scalar(sa.select(Account.balance_minor).where(Account.id == account.id).with_for_update())
    if held < amount:
        raise ledger.InsufficientFunds(account.currency, amount - held, held)


def refund_deposit(user, deposit_id, amount, idempotency_key=None):
    """Give ``amount`` of the deposit back to its PayPal capture: at most what the capture still holds and what
    the wallet holds. Both are reserved before PayPal is asked (a conditional UPDATE of the deposit, a row lock
    on the wallet), so concurrent refunds can never give back more than either holds."""
    ledger.check_amount(amount, "amount")
    deposit = _own_deposit(user, deposit_id)
    reserved = db.session.execute(
        sa.update(Deposit)
        .where(Deposit.id == deposit.id, Deposit.status == "captured",
               Deposit.refunded_minor + amount <= Deposit.captured_minor)
        .values(refunded_minor=Deposit.refunded_minor + amount)
        .returning(Deposit.refunded_minor)
        .execution_options(synchronize_session=False)
    ).scalar()
    db.session.refresh(deposit)
    if reserved is None:
        if deposit.status != "captured":
            raise Conflict("Only a captured deposit can be refunded.")
        remaining = deposit.captured_minor - deposit.refunded_minor
        raise Invalid("The refund exceeds what this deposit's PayPal capture still holds.",
                      errors={"amount": [f"At most {remaining} ({deposit.currency} minor units)."]})
    wallet = ledger.account_for(deposit.user_id, "wallet", deposit.currency)
    reserve_balance(wallet, amount)
    request_id = request_id_for(f"refund-{deposit.id}", deposit.user_id, idempotency_key)
    result = gateway().refund_capture(deposit.capture_id, amount, deposit.currency, request_id=request_id)
    if result.amount_cents != amount:
        raise Conflict("PayPal answered this request with a refund of another amount; nothing was recorded.")
    external = ledger.platform_account(EXTERNAL, deposit.currency)
    transaction = ledger.post("deposit_refund", [(wallet, -amount), (external, amount)], deposit.currency,
                              "deposit", deposit.id, idempotency_key=idempotency_key,
                              memo="Refund of a PayPal deposit", unique_key=f"paypal:refund:{result.id}")
    refund = DepositRefund(deposit_id=deposit.id, user_id=deposit.user_id, amount_minor=amount,
                           currency=deposit.currency, status=result.status, paypal_refund_id=result.id,
                           request_id=request_id, ledger_transaction_id=transaction.id)
    db.session.add(refund)
    db.session.flush()
    publish("payments.deposit_refunded", deposit_id=deposit.id, refund_id=refund.id, user_id=deposit.user_id,
            amount_minor=amount, currency=deposit.currency)
    return refund


def deposit_for_user(user, deposit_id):
    return _own_deposit(user, deposit_id)


def deposits_query(user):
    return sa.select(Deposit).where(Deposit.user_id == user.id).order_by(Deposit.id.desc())


def refunds_of(deposit):
    return db.session.scalars(sa.select(DepositRefund).where(DepositRefund.deposit_id == deposit.id)
                              .order_by(DepositRefund.id)).all()


def locked_by_order(order_id):
    return _locked(sa.select(Deposit).where(Deposit.order_id == order_id))


def locked_by_capture(capture_id):
    return _locked(sa.select(Deposit).where(Deposit.capture_id == capture_id))


def take_back(deposit, paypal_refund_id, amount, status, kind):
    """Money PayPal gave back on its own (a refund made at PayPal, a chargeback): debit the wallet and record it.
    Returns the outcome: ``applied``, ``already_applied`` or ``review`` (the wallet no longer holds it)."""
    if db.session.scalar(sa.select(DepositRefund.id).where(DepositRefund.paypal_refund_id == paypal_refund_id)):
        return "already_applied"
    amount = min(amount, deposit.captured_minor - deposit.refunded_minor)
    if amount <= 0:
        return "already_applied"
    wallet = ledger.account_for(deposit.user_id, "wallet", deposit.currency)
    external = ledger.platform_account(EXTERNAL, deposit.currency)
    try:
        with db.session.begin_nested():
            transaction = ledger.post(kind, [(wallet, -amount), (external, amount)], deposit.currency, "deposit",
                                      deposit.id, memo=f"PayPal {kind.replace('_', ' ')}",
                                      unique_key=f"paypal:refund:{paypal_refund_id}")
    except ledger.InsufficientFunds:
        return "review"
    deposit.refunded_minor += amount
    refund = DepositRefund(deposit_id=deposit.id, user_id=deposit.user_id, amount_minor=amount,
                           currency=deposit.currency, status=status, paypal_refund_id=paypal_refund_id,
                           ledger_transaction_id=transaction.id)
    db.session.add(refund)
    db.session.flush()
    publish("payments.deposit_refunded", deposit_id=deposit.id, refund_id=refund.id, user_id=deposit.user_id,
            amount_minor=amount, currency=deposit.currency)
    return "applied"
