"""Packages: a tutor's offers (packages and monthly plans), students' purchases of them, and the credits a
booking uses instead of the wallet. Monthly plans' periods and renewals are in ``app.payments.subscriptions``.

Where the money sits (double-entry, nothing off the ledger):

* **Buying** moves the whole price from the student's wallet to the platform's ``escrow`` in one transaction
  (kind ``package_purchase``, cause ``package_purchase``/id). The purchase row counts its credits and keeps
  ``held_minor``: the part of escrow that belongs to its unused credits (the price, at first).
* **Using a credit** (``POST /bookings`` with ``use_credit``: the purchase id, chosen by the student, never
  picked automatically) moves no money: the credit's value (``held_minor`` ÷ credits left, rounded down: values
  differ by at most one minor unit and add up to the price) leaves the purchase's share of escrow and
  becomes the booking's own ``payment_holds`` row, whose ``hold_transaction_id`` is the purchase's charge (the
  transaction that put that money in escrow). From there the booking settles exactly like a wallet-paid one
  (``settle_booking``: cancellation terms, the release job after the dispute window, commission, once).
* **A booking refunded in full** (rejected, expired, tutor no-show, cancelled with a 100 % refund) gives the
  credit back instead: the hold closes as ``credit_returned`` with no ledger movement and its value returns to
  the purchase's ``held_minor``. A partial refund (a late cancellation) spends the credit and settles its value
  like money: the refund percent to the wallet, the rest to the tutor. A credit coming back to a purchase that
  is no longer active (cancelled, or a plan period that ended) is refunded to the wallet as money.
* **Cancelling a package** refunds its unused credits pro rata: ``held_minor`` (their values) escrow → wallet
  (kind ``package_refund``). Credits in use by pending bookings stay with those bookings.

At any time ``escrow`` = the held holds + every purchase's ``held_minor`` (a test checks it). Purchases are
locked (``FOR UPDATE``) before their credits change, so two bookings racing for the last credit get it once.
"""
import sqlalchemy as sa
from flask import current_app

from app.common import time as clock
from app.common.errors import Conflict, Invalid, NotFound
from app.common.events import publish
from app.extensions import db
from app.payments import ledger
from app.payments.package_models import PackageOffer, PackagePurchase, PackageSubscription
from app.tutors.services import rate_for

PURCHASE = "package_purchase"
TERMS = ("sessions", "duration_minutes", "discount_percent", "price_minor")
MAX_LIVE_OFFERS = 20
# A booking refunded in full returns its credit (a partial refund spends it).
FULL_REFUND_STATES = ("rejected", "expired", "tutor_no_show")


def locked(stmt):
    """The row of ``stmt`` locked for update on PostgreSQL (re-read after waiting for the lock)."""
    if db.engine.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return db.session.scalar(stmt.execution_options(populate_existing=True))


def session_lengths():
    return tuple(current_app.config["PACKAGE_SESSION_LENGTHS"])


# --- offers ---------------------------------------------------------------------------------------------------

def _tutor_terms(tutor_id):
    """(hourly rate, currency) of the tutor's profile; 409 without one."""
    terms = rate_for(tutor_id)
    if terms is None or terms[1] is None:
        raise Conflict("Create your tutor profile (hourly rate and currency) first.")
    return terms


def offer_price(offer):
    """(price_minor, list_price_minor, currency) of an offer today. A package follows the tutor's rate: rate ×
    duration per session (rounded half up), × sessions, less the discount (rounded half up); a plan has its price."""
    if offer.kind == "plan":
        return offer.price_minor, None, offer.currency
    rate = rate_for(offer.tutor_id)
    rate_minor, currency = rate if rate is not None else (0, None)
    per_session = (rate_minor * offer.duration_minutes * 2 + 60) // 120
    list_price = per_session * offer.sessions
    return (list_price * (100 - offer.discount_percent) * 2 + 100) // 200, list_price, currency


def offer_view(offer):
    price, list_price, currency = offer_price(offer)
    return {"offer": offer, "price_minor": price, "list_price_minor": list_price, "currency": currency}


def _check_terms(kind, values, tutor_id):
    """422 for terms that do not fit the offer's kind; returns the plan's currency (None for a package)."""
    if values.get("duration_minutes") is not None and values["duration_minutes"] not in session_lengths():
        raise Invalid("Unsupported session length.",
                      errors={"duration": [f"Choose one of {', '.join(map(str, session_lengths()))}."]})
    rate_minor, tutor_currency = _tutor_terms(tutor_id)
    if kind == "package":
        if values.get("price_minor") is not None or values.get("currency") is not None:
            raise Invalid("A package is priced from your hourly rate and its discount.",
                          errors={"price_minor": ["Only plans have a price; packages follow your rate."]})
        if not rate_minor:
            raise Conflict("Set an hourly rate in your tutor profile first: packages are priced from it.")
        return None
    if values.get("discount_percent"):
        raise Invalid("A plan has a monthly price, not a discount.",
                      errors={"discount_percent": ["Only packages have a discount."]})
    currency = values.get("currency") or tutor_currency
    if currency != tutor_currency:
        raise Invalid(f"Your prices are in {tutor_currency}.", errors={"currency": [f"Must be {tutor_currency}."]})
    if values.get("price_minor") is not None and values.get("sessions") is not None \
            and values["price_minor"] < values["sessions"]:
        raise Invalid("The price must cover at least one minor unit per session.",
                      errors={"price_minor": [f"At least {values['sessions']}."]})
    return currency


def create_offer(tutor, data):
    kind = data["kind"]
    if kind == "plan" and data.get("price_minor") is None:
        raise Invalid("A plan needs its monthly price.", errors={"price_minor": ["Required for a plan."]})
    currency = _check_terms(kind, data, tutor.id)
    live = db.session.scalar(sa.select(sa.func.count()).select_from(PackageOffer)
                             .where(PackageOffer.tutor_id == tutor.id, PackageOffer.active.is_(True)))
    if live >= MAX_LIVE_OFFERS:
        raise Conflict(f"At most {MAX_LIVE_OFFERS} active offers; deactivate one first.")
    offer = PackageOffer(tutor_id=tutor.id, kind=kind, title=data["title"], sessions=data["sessions"],
                         duration_minutes=data["duration_minutes"], discount_percent=data.get("discount_percent") or 0,
                         price_minor=data.get("price_minor") if kind == "plan" else None, currency=currency,
                         active=True)
    db.session.add(offer)
    db.session.flush()
    return offer_view(offer)


def _own_offer(tutor, offer_id, lock=False):
    stmt = sa.select(PackageOffer).where(PackageOffer.id == offer_id)
    offer = locked(stmt) if lock else db.session.scalar(stmt)
    if offer is None or offer.tutor_id != tutor.id:
        raise NotFound("No such package.")
    return offer


def update_offer(tutor, offer_id, changes):
    """Change an offer's terms or reactivate it; what was already bought keeps the terms it was bought on."""
    offer = _own_offer(tutor, offer_id, lock=True)
    if any(field in changes for field in TERMS):  # a new title or (de)activation needs no rate
        merged = {"sessions": offer.sessions, "price_minor": offer.price_minor, **changes}
        currency = _check_terms(offer.kind, merged if offer.kind == "plan" else changes, tutor.id)
        if offer.kind == "plan":
            offer.currency = currency
    for field in ("title", "active", *TERMS):
        if field in changes:
            setattr(offer, field, changes[field])
    db.session.flush()
    return offer_view(offer)


def _ever_bought(offer_id):
    bought = sa.select(PackagePurchase.id).where(PackagePurchase.offer_id == offer_id).limit(1)
    subscribed = sa.select(PackageSubscription.id).where(PackageSubscription.offer_id == offer_id).limit(1)
    return db.session.scalar(bought) is not None or db.session.scalar(subscribed) is not None


def delete_offer(tutor, offer_id):
    """Delete an offer nobody bought; one that was bought is deactivated instead (its purchases keep it)."""
    offer = _own_offer(tutor, offer_id, lock=True)
    if _ever_bought(offer.id):
        offer.active = False
    else:
        db.session.delete(offer)
    db.session.flush()


def my_offers(tutor):
    rows = db.session.scalars(sa.select(PackageOffer).where(PackageOffer.tutor_id == tutor.id)
                              .order_by(PackageOffer.id)).all()
    return [offer_view(offer) for offer in rows]


def public_offers(tutor_id, kind=None):
    """A tutor's active offers (404 for a tutor without a profile)."""
    if rate_for(tutor_id) is None:
        raise NotFound("No such tutor.")
    stmt = sa.select(PackageOffer).where(PackageOffer.tutor_id == tutor_id, PackageOffer.active.is_(True))
    if kind:
        stmt = stmt.where(PackageOffer.kind == kind)
    return [offer_view(offer) for offer in db.session.scalars(stmt.order_by(PackageOffer.id)).all()]


def live_offer(offer_id, kind, buyer_id):
    """An active offer of ``kind`` another user can buy (404 otherwise; 422 for the tutor's own)."""
    offer = db.session.scalar(sa.select(PackageOffer).where(PackageOffer.id == offer_id))
    if offer is None or not offer.active or offer.kind != kind:
        raise NotFound(f"No such {kind}.")
    if offer.tutor_id == buyer_id:
        raise Invalid("You cannot buy your own offer.", errors={"offer_id": ["That is yours."]})
    return offer


# --- purchases ------------------------------------------------------------------------------------------------

def charge(purchase, idempotency_key, unique_key, memo):
    """The purchase's price: the student's wallet → escrow (402 with the shortfall when short)."""
    wallet = ledger.account_for(purchase.student_id, "wallet", purchase.currency)
    escrow = ledger.platform_account("escrow", purchase.currency)
    transaction = ledger.post("package_purchase", [(wallet, -purchase.price_minor), (escrow, purchase.price_minor)],
                              purchase.currency, PURCHASE, purchase.id, idempotency_key=idempotency_key,
                              memo=memo, unique_key=unique_key)
    purchase.charge_transaction_id = transaction.id
    db.session.flush()
    publish("payments.package_purchased", purchase_id=purchase.id, payer_id=purchase.student_id,
            payee_id=purchase.tutor_id, kind=purchase.kind, credits=purchase.credits_total,
            amount_minor=purchase.price_minor, currency=purchase.currency)
    return transaction


def new_purchase(offer, student_id, price, currency, credits, **extra):
    """A purchase row, flushed (its id names the charge that ``charge`` posts next, in the same transaction)."""
    if price < credits:
        raise Conflict("This offer has no price yet: the tutor has not set an hourly rate.")
    purchase = PackagePurchase(offer_id=offer.id, student_id=student_id, tutor_id=offer.tutor_id, kind=offer.kind,
                               title=offer.title, duration_minutes=extra.pop("duration_minutes", offer.duration_minutes),
                               credits_total=credits, credits_used=0, price_minor=price, held_minor=price,
                               currency=currency, state="active", **extra)
    db.session.add(purchase)
    db.session.flush()
    return purchase


def buy_package(student, offer_id, idempotency_key=None):
    """Buy a package: its price (today's) from the wallet to escrow; its sessions become credits."""
    offer = live_offer(offer_id, "package", student.id)
    price, _list_price, currency = offer_price(offer)
    purchase = new_purchase(offer, student.id, price, currency, offer.sessions)
    charge(purchase, idempotency_key, f"{PURCHASE}:{purchase.id}:charge", f"Package: {offer.title}")
    return purchase


def students(model, user, row_id, noun, lock=False):
    """The ``model`` row (a purchase, a subscription) of this student, or of anyone for an admin; 404 otherwise."""
    stmt = sa.select(model).where(model.id == row_id)
    row = locked(stmt) if lock else db.session.scalar(stmt)
    if row is None or (row.student_id != user.id and not user.is_admin):
        raise NotFound(f"No such {noun}.")
    return row


def close(purchase, legs, kind, closed_minor, state, unique_key, memo, now=None):
    """Move the purchase's remaining escrow (``legs``) and close it in ``state``."""
    now = now or clock.utcnow()
    if closed_minor:
        transaction = ledger.post(kind, legs, purchase.currency, PURCHASE, purchase.id, memo=memo,
                                  unique_key=unique_key)
        purchase.close_transaction_id = transaction.id
    purchase.state, purchase.closed_at, purchase.closed_minor, purchase.held_minor = state, now, closed_minor, 0
    db.session.flush()


def cancel_purchase(student, purchase_id, now=None):
    """Cancel a package: its unused credits' money (``held_minor``) escrow → wallet; credits in use stay with
    their bookings. 409 for a plan's period (cancel the subscription) or a purchase already closed."""
    purchase = students(PackagePurchase, student, purchase_id, "purchase", lock=True)
    if purchase.kind != "package":
        raise Conflict("A plan's credits end with its period: cancel the subscription instead.")
    if purchase.state != "active":
        raise Conflict(f"This purchase is already {purchase.state}.")
    refund = purchase.held_minor
    legs = [(ledger.platform_account("escrow", purchase.currency), -refund),
            (ledger.account_for(purchase.student_id, "wallet", purchase.currency), refund)]
    close(purchase, legs, "package_refund", refund, "cancelled", f"{PURCHASE}:{purchase.id}:cancel",
          f"Unused credits of package #{purchase.id}", now)
    if refund:
        publish("payments.package_refunded", purchase_id=purchase.id, payer_id=purchase.student_id,
                payee_id=purchase.tutor_id, amount_minor=refund, currency=purchase.currency)
    return purchase


def my_holdings(student):
    """The student's active purchases (credits) and live subscriptions, newest first."""
    purchases = db.session.scalars(sa.select(PackagePurchase).where(PackagePurchase.student_id == student.id,
                                                                    PackagePurchase.state == "active")
                                   .order_by(PackagePurchase.id.desc())).all()
    subscriptions = db.session.scalars(sa.select(PackageSubscription)
                                       .where(PackageSubscription.student_id == student.id,
                                              PackageSubscription.state != "cancelled")
                                       .order_by(PackageSubscription.id.desc())).all()
    return {"purchases": purchases, "subscriptions": subscriptions}


def purchases_query(student, state=None):
    stmt = sa.select(PackagePurchase).where(PackagePurchase.student_id == student.id)
    if state:
        stmt = stmt.where(PackagePurchase.state == state)
    return stmt.order_by(PackagePurchase.id.desc())
