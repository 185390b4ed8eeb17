"""Escrow holds: money moved from a payer's wallet to the platform's escrow for something not yet delivered
(a booking), and settled exactly once: refunded, paid to the payee minus commission, or split.

A hold is one ``payment_holds`` row plus the ledger transaction that moved the money in. Settling locks the row
(``FOR UPDATE``; ``SKIP LOCKED`` in the release job), requires ``state = 'held'``, posts the settlement under
the unique key ``hold:<id>:settle`` and marks the row ``settled`` in the same transaction: a retried job, a
duplicate event or two racing requests move the money once.
"""
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from app.common import time as clock
from app.common.errors import Conflict, Invalid
from app.common.events import publish
from app.extensions import db
from app.payments import ledger
from app.payments.dispute_models import PaymentDispute
from app.payments.models import Hold

FULL_REFUND = 100


def _locked(stmt, skip_locked=False):
    if db.engine.dialect.name == "postgresql":
        return stmt.with_for_update(skip_locked=skip_locked, of=Hold)
    return stmt


def active_hold(cause_type, cause_id, lock=True):
    """The cause's hold still in escrow (locked for update), or None."""
    stmt = sa.select(Hold).where(Hold.cause_type == cause_type, Hold.cause_id == cause_id, Hold.state == "held")
    return db.session.scalar(_locked(stmt) if lock else stmt)


def hold(cause_type, cause_id, payer_id, payee_id, amount_minor, currency, idempotency_key=None, memo=None):
    """Move ``amount_minor`` from the payer's wallet to escrow for ``cause`` and record the hold.

    402 (``InsufficientFunds``, with the shortfall) when the wallet holds less; 409 when the cause already has
    a hold in escrow. The caller's unit of work commits."""
    ledger.check_amount(amount_minor)
    ledger.check_currency(currency)
    if active_hold(cause_type, cause_id) is not None:
        raise Conflict(f"This {cause_type} already has money in escrow.")
    wallet = ledger.account_for(payer_id, "wallet", currency)
    escrow = ledger.platform_account("escrow", currency)
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Hold)
                              .where(Hold.cause_type == cause_type, Hold.cause_id == cause_id))
    transaction = ledger.post(f"{cause_type}_hold", [(wallet, -amount_minor), (escrow, amount_minor)], currency,
                              cause_type, cause_id, idempotency_key=idempotency_key, memo=memo,
                              unique_key=f"{cause_type}:{cause_id}:hold:{count + 1}")
    row = Hold(cause_type=cause_type, cause_id=cause_id, payer_id=payer_id, payee_id=payee_id,
               amount_minor=amount_minor, currency=currency, state="held", hold_transaction_id=transaction.id)
    db.session.add(row)
    db.session.flush()
    publish("payments.held", hold_id=row.id, cause_type=cause_type, cause_id=cause_id, payer_id=payer_id,
            payee_id=payee_id, amount_minor=amount_minor, currency=currency)
    return row


def split(amount, refund_percent, commission_percent):
    """(refund, payee, commission) of ``amount``: the refund rounds up for the payer, the commission is taken
    from what is left and rounds down; the three always add up to ``amount``."""
    refund = -(-amount * refund_percent // 100)
    rest = amount - refund
    commission = rest * commission_percent // 100
    return refund, rest - commission, commission


def settle(row, refund_percent, outcome, now=None):
    """Settle a locked hold now: ``refund_percent`` back to the payer's wallet, the rest to the payee's
    ``tutor_payable`` minus ``PLATFORM_COMMISSION_PERCENT`` to ``platform_revenue``. A hold already settled is
    left alone (returns it unchanged): exactly once."""
    if row is None or row.state != "held":
        return row
    if isinstance(refund_percent, bool) or not isinstance(refund_percent, int) or not 0 <= refund_percent <= 100:
        raise Invalid("refund_percent is a whole number from 0 to 100.")
    now = now or clock.utcnow()
    currency = row.currency
    refund, payee, commission = split(row.amount_minor, refund_percent,
                                      current_app.config["PLATFORM_COMMISSION_PERCENT"])
    legs = [(ledger.platform_account("escrow", currency), -row.amount_minor)]
    if refund:
        legs.append((ledger.account_for(row.payer_id, "wallet", currency), refund))
    if payee:
        legs.append((ledger.account_for(row.payee_id, "tutor_payable", currency), payee))
    if commission:
        legs.append((ledger.platform_account("platform_revenue", currency), commission))
    transaction = ledger.post(f"{row.cause_type}_settlement", legs, currency, row.cause_type, row.cause_id,
                              memo=outcome, unique_key=f"hold:{row.id}:settle")
    row.state, row.settled_at, row.outcome, row.refund_percent = "settled", now, outcome, refund_percent
    row.settle_transaction_id = transaction.id
    db.session.flush()
    publish("payments.settled", hold_id=row.id, cause_type=row.cause_type, cause_id=row.cause_id,
            payer_id=row.payer_id, payee_id=row.payee_id, currency=currency, outcome=outcome,
            refund_minor=refund, payee_minor=payee, commission_minor=commission)
    return row


def settle_cause(cause_type, cause_id, refund_percent, outcome, now=None):
    """Settle the cause's hold now, if it has one in escrow (None otherwise)."""
    return settle(active_hold(cause_type, cause_id), refund_percent, outcome, now)


def release_later(cause_type, cause_id, outcome, now=None):
    """Pay the payee (refund 0) once ``DISPUTE_WINDOW_HOURS`` have passed: the release job settles it."""
    row = active_hold(cause_type, cause_id)
    if row is None:
        return None
    now = now or clock.utcnow()
    row.release_after = now + timedelta(hours=current_app.config["DISPUTE_WINDOW_HOURS"])
    row.refund_percent, row.outcome = 0, outcome
    db.session.flush()
    return row


def keep_holding(cause_type, cause_id):
    """Cancel a scheduled release (an admin put the cause back in an active state); the hold stays in escrow."""
    row = active_hold(cause_type, cause_id)
    if row is not None:
        row.release_after, row.refund_percent, row.outcome = None, None, None
        db.session.flush()
    return row


def release_due(now=None, batch=200):
    """Settle the holds whose dispute window has passed (to the payee, minus commission); the caller's unit
    commits. Rows another worker holds are skipped (PostgreSQL), so concurrent runs never collide; a row settled
    meanwhile is skipped by ``settle``; a hold with an open dispute stays (``app.payments.disputes``). Returns how
    many were settled."""
    now = now or clock.utcnow()
    disputed = sa.exists().where(PaymentDispute.hold_id == Hold.id, PaymentDispute.state == "open")
    stmt = (sa.select(Hold).where(Hold.state == "held", Hold.release_after.isnot(None), Hold.release_after <= now,
                                  ~disputed)
            .order_by(Hold.release_after, Hold.id).limit(batch))
    rows = db.session.scalars(_locked(stmt, skip_locked=True)).all()
    for row in rows:
        settle(row, row.refund_percent or 0, row.outcome or "released", now)
    return len(rows)


def pending_holds(payer_id):
    """The payer's holds still in escrow, oldest first."""
    return db.session.scalars(sa.select(Hold).where(Hold.payer_id == payer_id, Hold.state == "held")
                              .order_by(Hold.id)).all()
