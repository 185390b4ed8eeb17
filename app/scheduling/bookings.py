"""Bookings: request, accept/reject, instant booking, reschedule, cancel, session lifecycle, admin overrides.

The functions change the session and never commit: the caller's unit of work does (``unit_of_work``). A change
to a booking's time or state is flushed here (``_flush``), so PostgreSQL's exclusion constraints judge it inside
the service: a time taken meanwhile answers the same 409 as the application check, and the unit rolls back.
Notices and reminders are outbox rows written in the same transaction; each state change publishes its event
(``lifecycle``), and a change of the tutor's busy time publishes ``availability.changed``.

Money moves in the same transaction as the state (``settle_money``): a request holds its price in escrow
(402 when the wallet is short, and nothing is booked), every final state settles the hold through payments'
services. The booking row is locked (``get_booking(lock=True)``) and the transition table admits each final
state once, and payments settles a hold once (row lock, ``held`` state, unique settlement key): a retried job
or two racing requests move the money exactly once.
"""
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from app.common import time as clock
from app.common.errors import Conflict, Forbidden, Invalid, NotFound
from app.common.events import publish
from app.common.transactions import EXCLUSION_VIOLATION, conflict_from
from app.extensions import db
from app.payments import services as payments
from app.scheduling import lifecycle, reminders, validation
from app.scheduling.availability import get_tutor, settings_for
from app.scheduling.models import ACTIVE_STATES, STATES, Booking
from app.scheduling.policies import (
    START_EARLY,
    cancellation_terms,
    next_state,
    reschedule_is_immediate,
)
from app.scheduling.validation import (
    OVERLAP,
    TAKEN,
    assert_pending_cap,
    assert_within_limits,
    check_free,
    lock_participants,
    require_aware,
    set_time,
    validate_start,
)
from app.tutors.services import require_taught_subject

SCHEDULED = ("confirmed", "in_progress")


def _flush():
    """Write the pending change now: an exclusion violation (a race the application check lost) is the slot
    taken, any other integrity error the generic 409; either way the unit of work rolls back."""
    try:
        db.session.flush()
    except IntegrityError as error:
        if getattr(getattr(error, "orig", None), "sqlstate", None) == EXCLUSION_VIOLATION:
            raise Conflict(TAKEN, errors={"start": [OVERLAP]}) from None
        raise conflict_from(error) from None


# --- loading ------------------------------------------------------------------------------------------------

def get_booking(user, booking_id, lock=False):
    """Participants and admins see a booking; anyone else gets 404."""
    stmt = sa.select(Booking).where(Booking.id == booking_id)
    if lock and db.engine.dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=Booking)
    booking = db.session.scalar(stmt)
    if booking is None or (user.id not in booking.participant_ids() and not user.is_admin):
        raise NotFound("No such booking.")
    return booking


def _as_tutor(user, booking_id):
    """A booking the user tutors; someone else's booking is 404, the student of this one gets 403."""
    booking = get_booking(user, booking_id, lock=True)
    if booking.tutor_id != user.id:
        if booking.student_id == user.id:
            raise Forbidden("Only the tutor can do this.")
        raise NotFound("No such booking.")
    return booking


def _as_participant(user, booking_id):
    booking = get_booking(user, booking_id, lock=True)
    if user.id not in booking.participant_ids():
        raise NotFound("No such booking.")
    return booking


def list_bookings(user, state=None, start_from=None, start_to=None, role=None):
    stmt = sa.select(Booking).order_by(Booking.start_at, Booking.id)
    if role == "tutor":
        stmt = stmt.where(Booking.tutor_id == user.id)
    elif role == "student":
        stmt = stmt.where(Booking.student_id == user.id)
    else:
        stmt = stmt.where(sa.or_(Booking.tutor_id == user.id, Booking.student_id == user.id))
    if state:
        stmt = stmt.where(Booking.state == state)
    if start_from is not None:
        stmt = stmt.where(Booking.start_at >= start_from)
    if start_to is not None:
        stmt = stmt.where(Booking.start_at < start_to)
    return stmt


def _notify_confirmed(booking, now):
    """Both participants hear (email with .ics, SMS when opted in) and the reminders are queued; the booking's
    conversation is messaging's reaction to ``booking.confirmed``."""
    reminders.notify(booking, "confirmed")
    reminders.schedule_reminders(booking, now)


# --- requests -----------------------------------------------------------------------------------------------

def _is_repeat(student_id, tutor_id, before):
    stmt = sa.select(Booking.id).where(
        Booking.student_id == student_id, Booking.tutor_id == tutor_id,
        Booking.state.in_(("confirmed", "in_progress", "completed")), Booking.start_at < before,
    )
    return db.session.scalar(stmt.limit(1)) is not None


def settle_money(booking, now, no_show_by="student"):
    """Move the booking's escrow for the state it is now in (see ``payments.settle_booking``); an active state
    (an admin reviving a final booking) holds the price again when nothing is held."""
    state = booking.state
    if state in ACTIVE_STATES:
        if booking.price_minor and payments.booking_hold(booking.id) is None:
            payments.hold_for_booking(booking.id, booking.student_id, booking.tutor_id, booking.price_minor,
                                      booking.currency)
            return
    if state == "no_show" and no_show_by == "tutor":
        state = "tutor_no_show"
    refund = booking.cancellation_policy["refund_percent"] if state == "cancelled" else None
    payments.settle_booking(booking.id, state, refund, now)


def create_booking(student, tutor_id, start, duration, subject, note="", now=None, currency=None,
                   idempotency_key=None, use_credit=None):
    """A request (or a confirmed session when the tutor takes instant bookings) holding its slot and its price:
    the tutor's rate × duration, moved from the student's wallet to escrow (402 with the shortfall when short;
    free when the tutor has no rate). ``currency``, when given, must be the tutor's (422). ``use_credit`` (a
    package purchase id) pays with one of its credits instead (payments' ``quote_credit``: 404/422/409)."""
    now = now or clock.utcnow()
    require_aware(start)
    if student.id == tutor_id:
        raise Invalid("You cannot book yourself.", errors={"tutor_id": ["That is you."]})
    tutor = get_tutor(tutor_id)
    require_taught_subject(tutor.id, subject)
    settings, policy = validate_start(tutor, start, duration, now)
    lock_participants(tutor.id, student.id)
    if not settings.instant_booking:
        assert_pending_cap(student.id, tutor.id, current_app.config.get("BOOKING_MAX_PENDING_PER_TUTOR", 0))
    if use_credit is None:
        price, currency = payments.quote_booking(tutor.id, duration, currency)
    else:
        price, currency = payments.quote_credit(use_credit, student.id, tutor.id, duration, currency, now)
    booking = Booking(tutor=tutor, student=student, tutor_id=tutor.id, student_id=student.id, subject=subject,
                      note=note or "", duration_minutes=duration, state="requested", sequence=0,
                      price_minor=price, currency=currency)
    set_time(booking, start, settings)
    assert_within_limits(tutor.id, policy, start)
    check_free(booking)
    booking.is_repeat = _is_repeat(student.id, tutor.id, start)
    if settings.instant_booking:
        booking.state = "confirmed"
        booking.confirmed_at = now
    db.session.add(booking)
    _flush()
    if booking.state == "confirmed":
        _notify_confirmed(booking, now)
    else:
        reminders.notify(booking, "requested", recipients=(tutor,), ics=False)
    lifecycle.state_entered(booking, None, student.id)
    publish("availability.changed", tutor_id=tutor.id)
    # Last, so the escrow account's row lock is held for the shortest time before the commit.
    payments.hold_for_booking(booking.id, student.id, tutor.id, price, currency, idempotency_key=idempotency_key,
                              credit_purchase_id=use_credit)
    return booking


def accept(user, booking_id, now=None):
    now = now or clock.utcnow()
    booking = _as_tutor(user, booking_id)
    previous = booking.state
    booking.state = next_state(booking.state, "accept")
    if booking.start_at <= now:
        raise Conflict("The request expired: its start time has passed.")
    booking.confirmed_at = now
    booking.proposed_start_at = booking.proposed_by_id = None
    _flush()
    _notify_confirmed(booking, now)
    lifecycle.state_entered(booking, previous, user.id)
    publish("availability.changed", tutor_id=booking.tutor_id)
    return booking


def reject(user, booking_id, reason=None):
    booking = _as_tutor(user, booking_id)
    previous = booking.state
    booking.state = next_state(booking.state, "reject")
    booking.cancel_reason = reason
    booking.proposed_start_at = booking.proposed_by_id = None
    _flush()
    reminders.notify(booking, "rejected", recipients=(booking.student,), ics=False)
    settle_money(booking, clock.utcnow())
    lifecycle.state_entered(booking, previous, user.id)
    publish("availability.changed", tutor_id=booking.tutor_id)
    return booking


def cancel(user, booking_id, reason, now=None):
    """Either participant (or an admin) cancels; the cancellation-window terms are recorded for payments."""
    now = now or clock.utcnow()
    booking = get_booking(user, booking_id, lock=True)
    previous = booking.state
    target = next_state(booking.state, "cancel")
    booking.cancellation_policy = cancellation_terms(booking, settings_for(booking.tutor_id), user.id, now)
    booking.state = target
    booking.cancelled_at = now
    booking.cancelled_by_id = user.id
    booking.cancel_reason = reason
    booking.proposed_start_at = booking.proposed_by_id = None
    booking.sequence += 1
    _flush()
    reminders.drop_reminders(booking)
    if previous != "requested":
        reminders.notify(booking, "cancelled")
    else:
        other = booking.tutor if user.id == booking.student_id else booking.student
        reminders.notify(booking, "cancelled", recipients=(other,), ics=False)
    settle_money(booking, now)
    lifecycle.state_entered(booking, previous, user.id, by_admin=user.id not in booking.participant_ids())
    publish("availability.changed", tutor_id=booking.tutor_id)
    return booking


# --- lifecycle marks by the tutor ------------------------------------------------------------------------------

def mark(user, booking_id, action, now=None):
    """start (from 15 minutes before), complete or no_show (once the session has begun)."""
    now = now or clock.utcnow()
    booking = _as_tutor(user, booking_id)
    previous = booking.state
    target = next_state(booking.state, action)
    if action == "start" and now < booking.start_at - START_EARLY:
        raise Conflict("A session can be started at most 15 minutes before its start time.")
    if action in ("complete", "no_show") and now < booking.start_at:
        raise Conflict(f"A session cannot be marked {target.replace('_', ' ')} before it starts.")
    booking.state = target
    if target == "in_progress":
        booking.started_at = now
    elif target == "completed":
        booking.completed_at = now
    _flush()
    if target == "no_show":
        reminders.drop_reminders(booking)
    if target != "in_progress":
        settle_money(booking, now)
    lifecycle.state_entered(booking, previous, user.id)
    return booking


# --- reschedule ---------------------------------------------------------------------------------------------------

def _move(booking, start, settings):
    """Put the booking at ``start`` (checked free); returns the old (start, end)."""
    old = booking.start_at, booking.end_at
    set_time(booking, start, settings)
    check_free(booking, exclude_id=booking.id)
    booking.proposed_start_at = booking.proposed_by_id = None
    booking.sequence += 1
    return old


def _apply_new_time(booking, start, settings, now, actor_id, by_admin=False):
    old_start, old_end = _move(booking, start, settings)
    _flush()
    if booking.state in SCHEDULED:
        reminders.move_reminders(booking, now)
        reminders.notify(booking, "rescheduled")
    else:
        reminders.notify(booking, "rescheduled", ics=False)
    lifecycle.rescheduled(booking, old_start, old_end, actor_id, by_admin)
    publish("availability.changed", tutor_id=booking.tutor_id)
    return booking


def reschedule(user, booking_id, start, now=None):
    """Move a session: immediately when the policy allows it, else as a proposal for the other side."""
    now = now or clock.utcnow()
    booking = _as_participant(user, booking_id)
    if booking.state not in ("requested", "confirmed"):
        raise Conflict(f"Cannot reschedule a booking that is {booking.state.replace('_', ' ')}.")
    if start == booking.start_at:
        raise Invalid("That is the current start time.", errors={"start": ["Unchanged."]})
    settings, policy = validate_start(booking.tutor, start, booking.duration_minutes, now)
    lock_participants(booking.tutor_id, booking.student_id)
    assert_within_limits(booking.tutor_id, policy, start, exclude_id=booking.id)
    own_request = booking.state == "requested" and user.id == booking.student_id
    if own_request or reschedule_is_immediate(booking, settings, user.id, now):
        return _apply_new_time(booking, start, settings, now, user.id)
    end = start + timedelta(minutes=booking.duration_minutes)
    validation.assert_no_overlap(booking.tutor_id, booking.student_id, start, end,
                                 start - timedelta(minutes=settings.buffer_before_minutes),
                                 end + timedelta(minutes=settings.buffer_after_minutes), exclude_id=booking.id)
    booking.proposed_start_at = start
    booking.proposed_by_id = user.id
    other = booking.tutor if user.id == booking.student_id else booking.student
    reminders.notify(booking, "reschedule_proposed", recipients=(other,), ics=False)
    return booking


def respond_to_proposal(user, booking_id, accepted, now=None):
    now = now or clock.utcnow()
    booking = _as_participant(user, booking_id)
    if booking.proposed_start_at is None or booking.state not in ("requested", "confirmed"):
        raise Conflict("There is no pending reschedule proposal.")
    if booking.proposed_by_id == user.id:
        raise Forbidden("The other participant answers your proposal.")
    if not accepted:
        proposer = booking.tutor if booking.proposed_by_id == booking.tutor_id else booking.student
        booking.proposed_start_at = booking.proposed_by_id = None
        booking.updated_at = now
        reminders.notify(booking, "reschedule_declined", recipients=(proposer,), ics=False)
        return booking
    start = booking.proposed_start_at
    settings, _policy = validate_start(booking.tutor, start, booking.duration_minutes, now, check_window=False)
    lock_participants(booking.tutor_id, booking.student_id)
    if booking.state == "requested" and user.id == booking.student_id:
        return _confirm_at_proposed_time(user, booking, start, settings, now)
    return _apply_new_time(booking, start, settings, now, user.id)


def _confirm_at_proposed_time(student, booking, start, settings, now):
    """The tutor proposed this time for a request and the student agrees: both sides have said yes."""
    booking.state = next_state(booking.state, "accept")
    booking.confirmed_at = now
    old_start, old_end = _move(booking, start, settings)
    _flush()
    _notify_confirmed(booking, now)
    lifecycle.rescheduled(booking, old_start, old_end, student.id)
    lifecycle.state_entered(booking, "requested", student.id)
    publish("availability.changed", tutor_id=booking.tutor_id)
    return booking


# --- admin --------------------------------------------------------------------------------------------------------

def admin_set_state(admin, booking_id, state, note, now=None, no_show_by="student"):
    """Force any state (bypassing the transition table); still never creates a double booking (409). Money
    follows as for the participants' own moves (``settle_money``); ``no_show_by="tutor"`` refunds in full."""
    now = now or clock.utcnow()
    if state not in STATES:
        raise Invalid(f"Unknown state {state!r}.")
    booking = get_booking(admin, booking_id, lock=True)
    previous = booking.state
    if previous == state:
        raise Conflict(f"The booking is already {state.replace('_', ' ')}.")
    booking.admin_note = f"{previous} → {state} by admin {admin.id}: {note}"[:500]
    if state in ACTIVE_STATES and previous not in ACTIVE_STATES:
        lock_participants(booking.tutor_id, booking.student_id)
        check_free(booking, exclude_id=booking.id)
    _force_state(booking, state, admin.id, note, now)
    _flush()
    _forced_state_notices(booking, previous, now)
    settle_money(booking, now, no_show_by)
    lifecycle.state_entered(booking, previous, admin.id, by_admin=True)
    publish("availability.changed", tutor_id=booking.tutor_id)
    return booking


def _force_state(booking, state, admin_id, note, now):
    """Put the booking in ``state`` with the stamps it implies: cancellation terms (judged on the state it had),
    confirmation/completion times, the ICS sequence."""
    previous = booking.state
    if state == "cancelled":
        booking.cancellation_policy = cancellation_terms(booking, settings_for(booking.tutor_id), admin_id, now)
        booking.cancelled_at, booking.cancelled_by_id, booking.cancel_reason = now, admin_id, note
    booking.state = state
    if state == "confirmed" and booking.confirmed_at is None:
        booking.confirmed_at = now
    if state == "completed" and booking.completed_at is None:
        booking.completed_at = now
    if (previous in SCHEDULED) != (state in SCHEDULED):
        booking.sequence += 1


def _forced_state_notices(booking, previous, now):
    """Reminders follow the forced state; participants hear of a confirmation or of a scheduled session cancelled."""
    if booking.state == "confirmed":
        reminders.move_reminders(booking, now)
        reminders.notify(booking, "confirmed")
    elif booking.state != "in_progress":
        reminders.drop_reminders(booking)
        if booking.state == "cancelled" and previous in SCHEDULED:
            reminders.notify(booking, "cancelled")


def admin_reschedule(admin, booking_id, start, now=None):
    """Move an active booking without the tutor's notice/horizon/boundary rules; overlaps still 409."""
    now = now or clock.utcnow()
    require_aware(start)
    booking = get_booking(admin, booking_id, lock=True)
    if booking.state not in ACTIVE_STATES:
        raise Conflict(f"Cannot reschedule a booking that is {booking.state.replace('_', ' ')}.")
    booking.admin_note = f"rescheduled by admin {admin.id} from {booking.start_at.isoformat()}"[:500]
    lock_participants(booking.tutor_id, booking.student_id)
    return _apply_new_time(booking, start, settings_for(booking.tutor_id), now, admin.id, by_admin=True)
