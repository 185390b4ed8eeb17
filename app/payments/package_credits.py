"""Package credits paying for bookings: quoted and used when a booking is requested, given back when it is
refunded in full (see ``app.payments.packages`` for where the money sits)."""
import sqlalchemy as sa

from app.common import time as clock
from app.common.errors import Conflict, Invalid, NotFound
from app.extensions import db
from app.payments import escrow
from app.payments.models import Hold
from app.payments.package_models import PackageCreditUse, PackagePurchase
from app.payments.packages import FULL_REFUND_STATES, locked

BOOKING = "booking"


def _usable(purchase, now):
    return (purchase.state == "active" and purchase.credits_used < purchase.credits_total
            and (purchase.period_end is None or now < purchase.period_end))


def credit_value(purchase):
    """The next credit's value: the unused credits' money ÷ their number, rounded down (values differ by at most
    one minor unit, and a purchase's credits add up to its price)."""
    return purchase.held_minor // (purchase.credits_total - purchase.credits_used)


def quote_credit(purchase_id, student_id, tutor_id, duration_minutes, currency=None, now=None):
    """(value_minor, currency) of one credit of the student's purchase for a booking with ``tutor_id`` of
    ``duration_minutes``. The purchase stays locked until the booking's unit of work ends, so the value holds.
    404: not the student's purchase; 422: another tutor, length or currency; 409: no credit left (used up,
    cancelled, or the plan's period is over)."""
    now = now or clock.utcnow()
    purchase = locked(sa.select(PackagePurchase).where(PackagePurchase.id == purchase_id))
    if purchase is None or purchase.student_id != student_id:
        raise NotFound("No such package purchase.")
    if purchase.tutor_id != tutor_id:
        raise Invalid("These credits are for another tutor.",
                      errors={"use_credit": ["The purchase's credits are for another tutor."]})
    if purchase.duration_minutes != duration_minutes:
        raise Invalid(f"These credits are for {purchase.duration_minutes}-minute sessions.",
                      errors={"duration": [f"Must be {purchase.duration_minutes} to use these credits."]})
    if currency is not None and currency != purchase.currency:
        raise Invalid(f"These credits are in {purchase.currency}.",
                      errors={"currency": [f"Must be {purchase.currency}."]})
    if not _usable(purchase, now):
        raise Conflict("No credit left on this purchase.")
    return credit_value(purchase), purchase.currency


def use_credit(booking_id, purchase_id, student_id, tutor_id, now=None):
    """Spend one credit on the booking: its value leaves the purchase's share of escrow and becomes the
    booking's hold (no ledger movement: the money is in escrow since the purchase). 409 when none is left."""
    now = now or clock.utcnow()
    purchase = locked(sa.select(PackagePurchase).where(PackagePurchase.id == purchase_id))
    if purchase is None or purchase.student_id != student_id or purchase.tutor_id != tutor_id:
        raise NotFound("No such package purchase.")
    if not _usable(purchase, now):
        raise Conflict("No credit left on this purchase.")
    if escrow.active_hold(BOOKING, booking_id) is not None:
        raise Conflict("This booking already has money in escrow.")
    value = credit_value(purchase)
    purchase.credits_used += 1
    purchase.held_minor -= value
    hold = Hold(cause_type=BOOKING, cause_id=booking_id, payer_id=student_id, payee_id=tutor_id,
                amount_minor=value, currency=purchase.currency, state="held",
                hold_transaction_id=purchase.charge_transaction_id)
    db.session.add(hold)
    db.session.flush()
    db.session.add(PackageCreditUse(purchase_id=purchase.id, booking_id=booking_id, hold_id=hold.id,
                                    value_minor=value, state="used"))
    db.session.flush()
    return hold


def return_credit(booking_id, state, refund_percent=None, now=None):
    """A credit-paid booking refunded in full (rejected, expired, tutor no-show, cancelled at 100 %) gives its
    credit back to an active purchase: the hold closes as ``credit_returned`` and its value rejoins the
    purchase. True when it did; False otherwise (not a credit booking, a partial refund, a purchase no longer
    active, a hold already settled): ``settle_booking`` then settles the hold as money."""
    refunded_in_full = state in FULL_REFUND_STATES or (state == "cancelled" and refund_percent == 100)
    if not refunded_in_full:
        return False
    use = db.session.scalar(sa.select(PackageCreditUse).where(PackageCreditUse.booking_id == booking_id,
                                                              PackageCreditUse.state == "used"))
    if use is None:
        return False
    hold = escrow.active_hold(BOOKING, booking_id)
    if hold is None or hold.id != use.hold_id:
        return False
    now = now or clock.utcnow()
    purchase = locked(sa.select(PackagePurchase).where(PackagePurchase.id == use.purchase_id))
    if purchase.state != "active" or (purchase.period_end is not None and now >= purchase.period_end):
        return False
    hold.state, hold.settled_at, hold.outcome, hold.refund_percent = "settled", now, "credit_returned", 100
    hold.release_after = None
    use.state, use.returned_at = "returned", now
    purchase.credits_used -= 1
    purchase.held_minor += hold.amount_minor
    db.session.flush()
    return True


def revival_credit(booking_id, now=None):
    """The purchase that gave a booking its credit back, when it has a credit left (an admin reviving the booking
    uses one again rather than charging the wallet); None otherwise."""
    purchase_id = db.session.scalar(sa.select(PackageCreditUse.purchase_id)
                                    .where(PackageCreditUse.booking_id == booking_id,
                                           PackageCreditUse.state == "returned")
                                    .order_by(PackageCreditUse.id.desc()).limit(1))
    if purchase_id is None:
        return None
    purchase = locked(sa.select(PackagePurchase).where(PackagePurchase.id == purchase_id))
    return purchase_id if _usable(purchase, now or clock.utcnow()) else None


def credits_held(student_id):
    """{currency: minor units} in escrow for the student's unused credits (active purchases)."""
    return dict(db.session.execute(
        sa.select(PackagePurchase.currency, sa.func.sum(PackagePurchase.held_minor))
        .where(PackagePurchase.student_id == student_id, PackagePurchase.state == "active",
               PackagePurchase.held_minor > 0)
        .group_by(PackagePurchase.currency)).all())


def credit_uses(purchase_id):
    return db.session.scalars(sa.select(PackageCreditUse).where(PackageCreditUse.purchase_id == purchase_id)
                              .order_by(PackageCreditUse.id)).all()
