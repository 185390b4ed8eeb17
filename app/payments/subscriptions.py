"""Monthly plans: subscribing charges the first month and grants its credits; the renewal job charges each next
month at period end; cancelling stops it at period end; a renewal the wallet cannot pay pauses the subscription
and tells the student (email + in-app notice, after commit), who may resume it later.

Each period is a ``package_purchases`` row (kind ``plan``) charged wallet → escrow like a package, under the
ledger key ``subscription:<id>:period:<n>`` (a retried or doubled renewal charges once). Its credits are for
that period: at period end the unused ones lapse and their money (``held_minor``) is paid to the tutor minus
``PLATFORM_COMMISSION_PERCENT`` (kind ``package_lapse``): the month was bought, as with any subscription.
Bookings made with a period's credits keep their holds and settle as usual.
"""
import calendar
from datetime import datetime

import sqlalchemy as sa
from flask import current_app

from app.common import time as clock
from app.common.errors import Conflict
from app.common.events import publish
from app.common.money import format_money
from app.extensions import db
from app.notifications import services as notifications
from app.payments import escrow, ledger
from app.payments.package_models import PackageOffer, PackagePurchase, PackageSubscription
from app.payments.packages import charge, close, live_offer, locked, new_purchase, students
from app.users.services import get_user


def add_month(moment):
    """The same instant one calendar month later (the 31st becomes the month's last day)."""
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return datetime.combine(moment.date().replace(year=year, month=month, day=day), moment.timetz())


def _charge_period(subscription, start, idempotency_key=None):
    """Charge one period starting at ``start`` and grant its credits (402 when the wallet is short)."""
    offer = db.session.get(PackageOffer, subscription.offer_id)
    end = add_month(start)
    purchase = new_purchase(offer, subscription.student_id, subscription.price_minor, subscription.currency,
                            subscription.sessions, subscription_id=subscription.id, period_start=start,
                            period_end=end, duration_minutes=subscription.duration_minutes)
    number = subscription.periods + 1
    charge(purchase, idempotency_key, f"subscription:{subscription.id}:period:{number}",
           f"Plan: {offer.title}, month {number}")
    subscription.periods = number
    subscription.current_period_start, subscription.current_period_end = start, end
    db.session.flush()
    return purchase


def subscribe(student, offer_id, idempotency_key=None, now=None):
    """Subscribe to a plan: the first month is charged now (402 when short); 409 when already subscribed."""
    offer = live_offer(offer_id, "plan", student.id)
    live = db.session.scalar(sa.select(PackageSubscription.id).where(
        PackageSubscription.student_id == student.id, PackageSubscription.offer_id == offer.id,
        PackageSubscription.state.in_(("active", "paused"))))
    if live is not None:
        raise Conflict("You already subscribe to this plan.")
    now = now or clock.utcnow()
    subscription = PackageSubscription(offer_id=offer.id, student_id=student.id, tutor_id=offer.tutor_id,
                                       state="active", cancel_at_period_end=False, sessions=offer.sessions,
                                       duration_minutes=offer.duration_minutes, price_minor=offer.price_minor,
                                       currency=offer.currency, periods=0, current_period_start=now,
                                       current_period_end=add_month(now))
    db.session.add(subscription)
    db.session.flush()
    _charge_period(subscription, now, idempotency_key)
    return subscription


def own_subscription(user, subscription_id, lock=False):
    return students(PackageSubscription, user, subscription_id, "subscription", lock)


def cancel(student, subscription_id, now=None):
    """An active subscription ends at its period's end (its credits stay usable until then); a paused one ends
    now. 409 when it is already cancelled or ending."""
    subscription = own_subscription(student, subscription_id, lock=True)
    if subscription.state == "cancelled" or subscription.cancel_at_period_end:
        raise Conflict("This subscription is already cancelled.")
    if subscription.state == "paused":
        subscription.state, subscription.cancelled_at = "cancelled", now or clock.utcnow()
    else:
        subscription.cancel_at_period_end = True
    db.session.flush()
    return subscription


def resume(student, subscription_id, idempotency_key=None, now=None):
    """A paused subscription starts a new month now, charged now (402 while the wallet is still short)."""
    subscription = own_subscription(student, subscription_id, lock=True)
    if subscription.state != "paused":
        raise Conflict("Only a paused subscription can be resumed.")
    _charge_period(subscription, now or clock.utcnow(), idempotency_key)
    subscription.state, subscription.paused_at = "active", None
    db.session.flush()
    return subscription


def lapse(purchase, now):
    """End a period: its unused credits' money escrow → the tutor's payable minus commission → revenue."""
    held = purchase.held_minor
    _refund, payee, commission = escrow.split(held, 0, current_app.config["PLATFORM_COMMISSION_PERCENT"])
    legs = [(ledger.platform_account("escrow", purchase.currency), -held)] if held else []
    if payee:
        legs.append((ledger.account_for(purchase.tutor_id, "tutor_payable", purchase.currency), payee))
    if commission:
        legs.append((ledger.platform_account("platform_revenue", purchase.currency), commission))
    close(purchase, legs, "package_lapse", held, "expired", f"package_purchase:{purchase.id}:lapse",
          f"Unused credits of plan month #{purchase.id}", now)


def _renew(subscription, now):
    """Close the ended period, then cancel, renew or pause; returns what happened."""
    current = locked(sa.select(PackagePurchase).where(
        PackagePurchase.subscription_id == subscription.id,
        PackagePurchase.period_start == subscription.current_period_start))
    if current is not None and current.state == "active":
        lapse(current, now)
    if subscription.cancel_at_period_end:
        subscription.state, subscription.cancelled_at = "cancelled", subscription.current_period_end
        return "cancelled"
    ended = subscription.current_period_end
    start = ended if add_month(ended) > now else now  # a job down for a month starts the next one today
    try:
        with db.session.begin_nested():
            _charge_period(subscription, start)
    except ledger.InsufficientFunds as short:
        subscription.state, subscription.paused_at = "paused", now
        publish("payments.subscription_paused", subscription_id=subscription.id,
                student_id=subscription.student_id, tutor_id=subscription.tutor_id,
                amount_minor=subscription.price_minor, currency=subscription.currency,
                shortfall_minor=short.shortfall)
        return "paused"
    return "renewed"


def renew_due(now=None, batch=200):
    """Renew every active subscription whose period has ended (the RQ job; the caller's unit commits). Rows
    another worker holds are skipped (PostgreSQL) and each row is re-read after its lock, so two runs at once,
    or a retried run, renew each period once. Returns {renewed, paused, cancelled}."""
    now = now or clock.utcnow()
    stmt = (sa.select(PackageSubscription)
            .where(PackageSubscription.state == "active", PackageSubscription.current_period_end <= now)
            .order_by(PackageSubscription.current_period_end, PackageSubscription.id).limit(batch))
    if db.engine.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    counts = {"renewed": 0, "paused": 0, "cancelled": 0}
    for subscription in db.session.scalars(stmt.execution_options(populate_existing=True)).all():
        counts[_renew(subscription, now)] += 1
    db.session.flush()
    return counts


def tell_paused(subscription_id):
    """Email and notify the student that a renewal failed and the plan is paused (once per failed period)."""
    subscription = db.session.get(PackageSubscription, subscription_id)
    if subscription is None or subscription.state != "paused":
        return None
    student, tutor = get_user(subscription.student_id), get_user(subscription.tutor_id)
    offer = db.session.get(PackageOffer, subscription.offer_id)
    price = format_money(subscription.price_minor, subscription.currency)
    title = f"Your plan with {tutor.full_name} is paused"
    body = (f"Hello {student.full_name},\n\nWe could not renew your plan \"{offer.title}\" with {tutor.full_name}: "
            f"your wallet holds less than {price}. The plan is paused and no new credits were added.\n"
            "Top up your wallet, then resume the plan from your packages page (or cancel it).\n")
    notifications.notify(student.id, "subscription_paused", title, body, data={"subscription_id": subscription.id})
    return notifications.queue_email(student.email, title, body, user_id=student.id, kind="subscription_paused",
                                     dedupe_key=f"subscription_paused:{subscription.id}:{subscription.periods}")


def subscriptions_query(student):
    return (sa.select(PackageSubscription).where(PackageSubscription.student_id == student.id)
            .order_by(PackageSubscription.id.desc()))
