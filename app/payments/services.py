"""Public face of payments: scheduling, the PayPal gateway, questions/bids, courses, jobs and the admin portal
import from here, never from the modules behind it.

Ledger (``app.payments.ledger``):
  ``post(kind, legs, currency, cause_type, cause_id=None, idempotency_key=None, memo=None, unique_key=None)``
  posts one balanced transaction (legs ``[(account, amount_minor), ...]`` summing to zero);
  ``account_for(user_id, kind, currency)`` (``wallet``, ``tutor_payable``) and ``platform_account(kind, currency)``
  (``escrow``, ``platform_revenue``, ``external:paypal``) get or create accounts; ``balance(account)`` reads one;
  ``InsufficientFunds`` is the 402 a debit below zero raises; ``verify()`` lists ledger inconsistencies.
Escrow (``app.payments.escrow``): ``hold``, ``settle_cause``, ``release_later``, ``keep_holding``,
  ``release_due``, ``pending_holds``; ``split`` is the refund/payee/commission arithmetic.
Disputes (``app.payments.disputes``): ``open_dispute``, ``respond``, ``resolve`` (an admin's split, settled once),
  ``dispute_for_party``, ``party_disputes_query``, ``admin_disputes_query``, ``get_dispute``, ``queue_page`` (ours
  and PayPal's, for the portal), ``get_paypal_dispute``, ``pair_chat``, ``evidence_of``, ``evidence_url``,
  ``tell_parties``, ``close_if_settled_elsewhere``.
Reports (``app.payments.reports``): ``tutor_earnings`` and ``finance_summary``, pandas over the ledger (JSON/CSV).
Bookings: ``quote_booking``, ``hold_for_booking``, ``settle_booking`` below (called by scheduling inside its
  unit of work, so a booking's state and its money change in one transaction).
Packages (``app.payments.packages``, ``package_credits``, ``subscriptions``): ``quote_credit`` prices a booking
  paid with a package credit (``hold_for_booking(..., credit_purchase_id=...)`` then uses it; ``settle_booking``
  gives it back when the booking is refunded in full); ``renew_subscriptions`` is the renewal job's entry.

Nothing here commits; the caller's unit of work does.
"""
import sqlalchemy as sa

from app.common.errors import Invalid
from app.extensions import db
from app.payments.disputes import (  # noqa: F401  (re-exported)
    QUEUE_FILTERS,
    REASON_LABELS,
    admin_disputes_query,
    close_if_settled_elsewhere,
    dispute_for_party,
    evidence_of,
    evidence_url,
    get_dispute,
    get_paypal_dispute,
    open_dispute,
    pair_chat,
    party_disputes_query,
    queue_page,
    resolve,
    respond,
    tell_parties,
)
from app.payments.escrow import (  # noqa: F401  (re-exported)
    active_hold,
    hold,
    keep_holding,
    pending_holds,
    release_due,
    release_later,
    settle_cause,
    split,
)
from app.payments.ledger import (  # noqa: F401  (re-exported)
    InsufficientFunds,
    account_for,
    balance,
    check_amount,
    check_currency,
    entries_query,
    find,
    platform_account,
    post,
    verify,
)
from app.payments.models import Account, Hold
from app.payments.package_credits import (  # noqa: F401  (re-exported)
    credits_held,
    quote_credit,
    return_credit,
    revival_credit,
    use_credit,
)
from app.payments.reports import finance_summary, tutor_earnings  # noqa: F401  (re-exported)
from app.payments.subscriptions import renew_due as renew_subscriptions  # noqa: F401  (re-exported)
from app.tutors.services import rate_for

BOOKING = "booking"
# What a booking entering each final state does with its hold (refund percent, outcome); ``cancelled`` reads
# the refund from the terms scheduling recorded; ``completed`` and a student no-show pay after the dispute window.
REFUND_NOW = {"rejected": (100, "rejected"), "expired": (100, "expired"), "tutor_no_show": (100, "tutor_no_show")}
PAY_LATER = {"completed": "completed", "no_show": "student_no_show"}


# --- bookings ------------------------------------------------------------------------------------------------

def quote_booking(tutor_id, duration_minutes, currency=None):
    """(price_minor, currency) of a session: the tutor's hourly rate × duration, rounded half up to a minor unit.
    A tutor without a profile (or a rate of 0) gives a free session. ``currency``, when the client sent one, must
    be the tutor's (422 otherwise)."""
    rate = rate_for(tutor_id)
    rate_minor, tutor_currency = rate if rate is not None else (0, None)
    if currency is not None:
        check_currency(currency)
        if tutor_currency is not None and currency != tutor_currency:
            raise Invalid(f"This tutor charges in {tutor_currency}.",
                          errors={"currency": [f"Must be {tutor_currency}, the tutor's currency."]})
    price = (rate_minor * duration_minutes * 2 + 60) // 120
    return price, tutor_currency or currency


def hold_for_booking(booking_id, student_id, tutor_id, price_minor, currency, idempotency_key=None,
                     credit_purchase_id=None):
    """Hold a requested booking's price: the student's wallet → escrow (402 with the shortfall when short).
    A free booking (price 0) holds nothing and returns None. With ``credit_purchase_id`` (priced by
    ``quote_credit``) a credit of that package purchase pays instead: its value, already in escrow, becomes the
    hold. A booking that got its credit back (an admin reviving it) uses one of that purchase again when left."""
    # --- packages (app/payments/package_credits.py) ---
    if credit_purchase_id is None:
        credit_purchase_id = revival_credit(booking_id)
    if credit_purchase_id is not None:
        return use_credit(booking_id, credit_purchase_id, student_id, tutor_id)
    # --- end packages ---
    if not price_minor:
        return None
    return hold(BOOKING, booking_id, student_id, tutor_id, price_minor, currency, idempotency_key=idempotency_key,
                memo=f"Session #{booking_id}")


def settle_booking(booking_id, state, refund_percent=None, now=None):
    """Move a booking's held money for the state it entered (called in the same unit of work as the change):

    * ``cancelled``: ``refund_percent`` (the recorded cancellation terms) back to the student now, the rest to
      the tutor minus commission;
    * ``rejected``, ``expired``, ``tutor_no_show``: full refund now;
    * ``completed``, ``no_show`` (the student's): to the tutor minus commission once ``DISPUTE_WINDOW_HOURS``
      have passed (the ``release_due`` job);
    * an active state (an admin undoing a final one): a scheduled release is cancelled, the money stays held.

    A booking paid with a package credit and refunded in full gets the credit back instead of money.
    Settling is exactly once: a booking without a hold in escrow is left alone."""
    # --- packages (app/payments/package_credits.py) ---
    if return_credit(booking_id, state, refund_percent, now):
        return None
    # --- end packages ---
    if state == "cancelled":
        return settle_cause(BOOKING, booking_id, int(refund_percent), "cancelled", now)
    if state in REFUND_NOW:
        percent, outcome = REFUND_NOW[state]
        return settle_cause(BOOKING, booking_id, percent, outcome, now)
    if state in PAY_LATER:
        return release_later(BOOKING, booking_id, PAY_LATER[state], now)
    return keep_holding(BOOKING, booking_id)


def booking_hold(booking_id):
    """The booking's hold still in escrow, or None (read, no lock)."""
    return active_hold(BOOKING, booking_id, lock=False)


def fund_wallet(user_id, amount_minor, currency, cause_type, cause_id=None, memo=None, unique_key=None,
                idempotency_key=None, source="external:paypal"):
    """Money entering the platform: ``source`` (an ``external:*`` account) → the user's wallet, one transaction
    of kind ``deposit`` (``seed_funding`` for cause_type ``seed``). Amount and currency are checked (422)."""
    check_amount(amount_minor)
    check_currency(currency)
    wallet = account_for(user_id, "wallet", currency)
    kind = "seed_funding" if cause_type == "seed" else "deposit"
    return post(kind, [(platform_account(source, currency), -amount_minor), (wallet, amount_minor)], currency,
                cause_type, cause_id, idempotency_key=idempotency_key, memo=memo, unique_key=unique_key)


# --- wallet reads ----------------------------------------------------------------------------------------------

def wallet_summary(user):
    """Per currency: the wallet's available balance, the money held in escrow for the user's pending bookings,
    the money of their unused package credits, and (tutors) the payable balance; plus the pending holds."""
    accounts = db.session.scalars(sa.select(Account).where(Account.owner_id == user.id)
                                  .order_by(Account.currency, Account.kind)).all()
    holds = pending_holds(user.id)
    credits = credits_held(user.id)  # packages: unused credits' money in escrow, {currency: minor}
    currencies = sorted({a.currency for a in accounts} | {h.currency for h in holds} | set(credits))
    balances = []
    for currency in currencies:
        by_kind = {a.kind: a.balance_minor for a in accounts if a.currency == currency}
        balances.append({
            "currency": currency,
            "available_minor": by_kind.get("wallet", 0),
            "held_minor": sum(h.amount_minor for h in holds if h.currency == currency),
            "credits_minor": credits.get(currency, 0),
            "payable_minor": by_kind.get("tutor_payable", 0),
        })
    return {"balances": balances, "pending_holds": holds}


def wallet_transactions(user, kind=None, since=None, until=None):
    """A select of the user's ledger entries (all their accounts), newest first, for ``paginate``."""
    account_ids = sa.select(Account.id).where(Account.owner_id == user.id)
    return entries_query(account_ids, kind=kind, since=since, until=until)


def hold_count(payer_id=None):
    """Holds still in escrow (optionally of one payer)."""
    stmt = sa.select(sa.func.count()).select_from(Hold).where(Hold.state == "held")
    if payer_id is not None:
        stmt = stmt.where(Hold.payer_id == payer_id)
    return db.session.scalar(stmt)
