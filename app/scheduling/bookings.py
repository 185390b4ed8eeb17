"""Bookings: request, accept/reject, instant booking, reschedule, cancel, session lifecycle, admin overrides.

Every write goes through ``_write``: an IntegrityError (on PostgreSQL the exclusion constraints'
ExclusionViolation, SQLSTATE 23P01) becomes 409 with the standard body, whichever path hit it.
"""
from datetime import timedelta
from functools import wraps
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.common.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from app.common import time as clock
from app.extensions import db
from app.scheduling import reminders
from app.scheduling.availability import get_tutor, overrides_for, policy_for, rules_for, settings_for
from app.scheduling.events import availability_changed
from app.scheduling.models import ACTIVE_STATES, STATES, Booking, BusyBlock
from app.scheduling.policies import START_EARLY, cancellation_terms, next_state, reschedule_is_immediate
from app.scheduling.slots import candidate_slots, local_week

EXCLUSION_VIOLATION = "23P01"
TAKEN = "That time is no longer available."


def _conflict_from(error):
    sqlstate = getattr(getattr(error, "orig", None), "sqlstate", None)
    if sqlstate == EXCLUSION_VIOLATION:
        return Conflict(TAKEN, errors={"start": ["Overlaps another active session."]})
    return Conflict("The change conflicts with existing data.")


def transactional(fn):
    """A refused change leaves nothing behind: any domain error rolls the session back."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except DomainError:
            db.session.rollback()
            raise

    return wrapper


def _write(after_flush=None):
    """Flush, queue side effects (outbox rows) in the same transaction, commit; conflicts answer 409."""
    try:
        db.session.flush()
        if after_flush:
            after_flush()
        db.session.commit()
    except IntegrityError as error:
        db.session.rollback()
        raise _conflict_from(error) from None


# --- validation -------------------------------------------------------------------------------------------

def _require_aware(start):
    if start.tzinfo is None or start.utcoffset() is None:
        raise Invalid("start must include a UTC offset.", errors={"start": ["Naive datetimes are not accepted."]})


def validate_start(tutor, start, duration, now, settings=None, check_window=True):
    """422 with the reason when ``start``/``duration`` are not bookable by the tutor's rules."""
    _require_aware(start)
    settings = settings or settings_for(tutor.id)
    policy = policy_for(tutor, settings)
    if duration not in policy.session_lengths:
        offered = ", ".join(str(length) for length in policy.session_lengths)
        raise Invalid(f"A {duration}-minute session is not offered; choose {offered}.",
                      errors={"duration": [f"Not offered; choose one of {offered}."]})
    if start <= now:
        raise Invalid("start is in the past.", errors={"start": ["In the past."]})
    if check_window:
        if start < now + timedelta(minutes=policy.min_notice):
            raise Invalid(f"start is inside the tutor's minimum notice of {policy.min_notice} minutes.",
                          errors={"start": ["Inside minimum notice."]})
        if start > now + timedelta(days=policy.max_days_ahead):
            raise Invalid(f"start is beyond the tutor's booking horizon of {policy.max_days_ahead} days.",
                          errors={"start": ["Beyond maximum days ahead."]})
    local_day = start.astimezone(ZoneInfo(policy.zone)).date()
    slots = candidate_slots(policy, rules_for(tutor.id), overrides_for(tutor.id, local_day - timedelta(days=1),
                            local_day + timedelta(days=1)), start, start + timedelta(microseconds=1), duration)
    if not slots or slots[0][0] != start:
        raise Invalid("start is not on a slot boundary within the tutor's available hours.",
                      errors={"start": ["Not on a slot boundary."]})
    return settings, policy


def assert_within_limits(tutor_id, policy, start, exclude_id=None):
    if policy.daily_limit is None and policy.weekly_limit is None:
        return
    zone = ZoneInfo(policy.zone)
    day = start.astimezone(zone).date()
    week_start = day - timedelta(days=day.weekday())
    stmt = sa.select(Booking.start_at).where(
        Booking.tutor_id == tutor_id, Booking.state.in_(ACTIVE_STATES),
        Booking.start_at >= start - timedelta(days=8), Booking.start_at <= start + timedelta(days=8),
    )
    if exclude_id is not None:
        stmt = stmt.where(Booking.id != exclude_id)
    with db.session.no_autoflush:
        days = [value.astimezone(zone).date() for value in db.session.scalars(stmt)]
    if policy.daily_limit is not None and sum(1 for d in days if d == day) >= policy.daily_limit:
        raise Conflict("The tutor's daily booking limit is reached for that day.")
    if policy.weekly_limit is not None and sum(1 for d in days if local_week(d) == local_week(week_start)) >= policy.weekly_limit:
        raise Conflict("The tutor's weekly booking limit is reached for that week.")


def assert_no_overlap(tutor_id, student_id, start, end, range_start, range_end, exclude_id=None):
    """The application-level double-booking check (the only guard on SQLite; PostgreSQL's constraint
    settles races). Also catches cross-role overlaps the constraints do not cover."""
    active = Booking.state.in_(ACTIVE_STATES)
    others = [Booking.id != exclude_id] if exclude_id is not None else []
    tutor_clash = sa.select(Booking.id).where(
        active, *others, Booking.tutor_id == tutor_id,
        Booking.tutor_range_start < range_end, Booking.tutor_range_end > range_start,
    )
    person_clash = sa.select(Booking.id).where(
        active, *others,
        sa.or_(Booking.student_id.in_((student_id, tutor_id)), Booking.tutor_id == student_id),
        Booking.start_at < end, Booking.end_at > start,
    )
    busy = sa.select(BusyBlock.id).where(
        BusyBlock.user_id == tutor_id, BusyBlock.start_at < range_end, BusyBlock.end_at > range_start
    )
    # No autoflush: the pending change is checked, not written (a write here would raise outside _write).
    with db.session.no_autoflush:
        clash = db.session.scalar(tutor_clash.limit(1)) or db.session.scalar(person_clash.limit(1))
        busy_id = db.session.scalar(busy.limit(1))
    if clash is not None:
        raise Conflict(TAKEN, errors={"start": ["Overlaps another active session."]})
    if busy_id is not None:
        raise Conflict("The tutor is busy at that time.", errors={"start": ["The tutor is busy."]})


def _set_time(booking, start, settings):
    booking.start_at = start
    booking.end_at = start + timedelta(minutes=booking.duration_minutes)
    booking.tutor_range_start = start - timedelta(minutes=settings.buffer_before_minutes)
    booking.tutor_range_end = booking.end_at + timedelta(minutes=settings.buffer_after_minutes)


def _check_free(booking, exclude_id=None):
    assert_no_overlap(booking.tutor_id, booking.student_id, booking.start_at, booking.end_at,
                      booking.tutor_range_start, booking.tutor_range_end, exclude_id)


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


# --- requests -----------------------------------------------------------------------------------------------

def _is_repeat(student_id, tutor_id, before):
    stmt = sa.select(Booking.id).where(
        Booking.student_id == student_id, Booking.tutor_id == tutor_id,
        Booking.state.in_(("confirmed", "in_progress", "completed")), Booking.start_at < before,
    )
    return db.session.scalar(stmt.limit(1)) is not None


@transactional
def create_booking(student, tutor_id, start, duration, subject, note="", now=None):
    """A request (or a confirmed session when the tutor takes instant bookings) holding its slot."""
    now = now or clock.utcnow()
    _require_aware(start)
    if student.id == tutor_id:
        raise Invalid("You cannot book yourself.", errors={"tutor_id": ["That is you."]})
    tutor = get_tutor(tutor_id)
    settings, policy = validate_start(tutor, start, duration, now)
    booking = Booking(tutor=tutor, student=student, tutor_id=tutor.id, student_id=student.id, subject=subject,
                      note=note or "", duration_minutes=duration, state="requested", sequence=0)
    _set_time(booking, start, settings)
    assert_within_limits(tutor.id, policy, start)
    _check_free(booking)
    booking.is_repeat = _is_repeat(student.id, tutor.id, start)
    if settings.instant_booking:
        booking.state = "confirmed"
        booking.confirmed_at = now
    db.session.add(booking)

    def side_effects():
        if booking.state == "confirmed":
            reminders.notify(booking, "confirmed")
            reminders.schedule_reminders(booking, now)
        else:
            reminders.notify(booking, "requested", recipients=(tutor,), ics=False)

    _write(side_effects)
    availability_changed(tutor.id)
    return booking


@transactional
def accept(user, booking_id, now=None):
    now = now or clock.utcnow()
    booking = _as_tutor(user, booking_id)
    booking.state = next_state(booking.state, "accept")
    if booking.start_at <= now:
        raise Conflict("The request expired: its start time has passed.")
    booking.confirmed_at = now
    booking.proposed_start_at = booking.proposed_by_id = None

    def side_effects():
        reminders.notify(booking, "confirmed")
        reminders.schedule_reminders(booking, now)

    _write(side_effects)
    availability_changed(booking.tutor_id)
    return booking


@transactional
def reject(user, booking_id, reason=None):
    booking = _as_tutor(user, booking_id)
    booking.state = next_state(booking.state, "reject")
    booking.cancel_reason = reason
    booking.proposed_start_at = booking.proposed_by_id = None
    _write(lambda: reminders.notify(booking, "rejected", recipients=(booking.student,), ics=False))
    availability_changed(booking.tutor_id)
    return booking


@transactional
def cancel(user, booking_id, reason, now=None):
    """Either participant (or an admin) cancels; the cancellation-window terms are recorded for payments."""
    now = now or clock.utcnow()
    booking = get_booking(user, booking_id, lock=True)
    was_confirmed = booking.state != "requested"
    target = next_state(booking.state, "cancel")
    booking.cancellation_policy = cancellation_terms(booking, settings_for(booking.tutor_id), user.id, now)
    booking.state = target
    booking.cancelled_at = now
    booking.cancelled_by_id = user.id
    booking.cancel_reason = reason
    booking.proposed_start_at = booking.proposed_by_id = None
    booking.sequence += 1

    def side_effects():
        reminders.drop_reminders(booking)
        if was_confirmed:
            reminders.notify(booking, "cancelled")
        else:
            other = booking.tutor if user.id == booking.student_id else booking.student
            reminders.notify(booking, "cancelled", recipients=(other,), ics=False)

    _write(side_effects)
    availability_changed(booking.tutor_id)
    return booking


# --- lifecycle marks by the tutor ------------------------------------------------------------------------------

@transactional
def mark(user, booking_id, action, now=None):
    """start (from 15 minutes before), complete or no_show (once the session has begun)."""
    now = now or clock.utcnow()
    booking = _as_tutor(user, booking_id)
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
    _write((lambda: reminders.drop_reminders(booking)) if target == "no_show" else None)
    return booking


# --- reschedule ---------------------------------------------------------------------------------------------------

def _apply_new_time(booking, start, settings, now, notify=True):
    _set_time(booking, start, settings)
    _check_free(booking, exclude_id=booking.id)
    booking.proposed_start_at = booking.proposed_by_id = None
    booking.sequence += 1

    def side_effects():
        if booking.state in ("confirmed", "in_progress"):
            reminders.move_reminders(booking, now)
            if notify:
                reminders.notify(booking, "rescheduled")
        elif notify:
            reminders.notify(booking, "rescheduled", ics=False)

    _write(side_effects)
    availability_changed(booking.tutor_id)
    return booking


@transactional
def reschedule(user, booking_id, start, now=None):
    """Move a session: immediately when the policy allows it, else as a proposal for the other side."""
    now = now or clock.utcnow()
    booking = _as_participant(user, booking_id)
    if booking.state not in ("requested", "confirmed"):
        raise Conflict(f"Cannot reschedule a booking that is {booking.state.replace('_', ' ')}.")
    if start == booking.start_at:
        raise Invalid("That is the current start time.", errors={"start": ["Unchanged."]})
    settings, policy = validate_start(booking.tutor, start, booking.duration_minutes, now)
    assert_within_limits(booking.tutor_id, policy, start, exclude_id=booking.id)
    own_request = booking.state == "requested" and user.id == booking.student_id
    if own_request or reschedule_is_immediate(booking, settings, user.id, now):
        return _apply_new_time(booking, start, settings, now)
    end = start + timedelta(minutes=booking.duration_minutes)
    assert_no_overlap(booking.tutor_id, booking.student_id, start, end,
                      start - timedelta(minutes=settings.buffer_before_minutes),
                      end + timedelta(minutes=settings.buffer_after_minutes), exclude_id=booking.id)
    booking.proposed_start_at = start
    booking.proposed_by_id = user.id
    other = booking.tutor if user.id == booking.student_id else booking.student
    _write(lambda: reminders.notify(booking, "reschedule_proposed", recipients=(other,), ics=False))
    return booking


@transactional
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
        _write(lambda: reminders.notify(booking, "reschedule_declined", recipients=(proposer,), ics=False))
        return booking
    start = booking.proposed_start_at
    settings, _policy = validate_start(booking.tutor, start, booking.duration_minutes, now, check_window=False)
    if booking.state == "requested" and user.id == booking.student_id:
        # The tutor proposed this time, the student agrees: both sides have said yes.
        booking.state = next_state(booking.state, "accept")
        booking.confirmed_at = now
        _set_time(booking, start, settings)
        _check_free(booking, exclude_id=booking.id)
        booking.proposed_start_at = booking.proposed_by_id = None
        booking.sequence += 1

        def side_effects():
            reminders.notify(booking, "confirmed")
            reminders.schedule_reminders(booking, now)

        _write(side_effects)
        availability_changed(booking.tutor_id)
        return booking
    return _apply_new_time(booking, start, settings, now)


# --- admin --------------------------------------------------------------------------------------------------------

@transactional
def admin_set_state(admin, booking_id, state, note, now=None):
    """Force any state (bypassing the transition table); still never creates a double booking (409)."""
    now = now or clock.utcnow()
    if state not in STATES:
        raise Invalid(f"Unknown state {state!r}.")
    booking = get_booking(admin, booking_id, lock=True)
    previous = booking.state
    if previous == state:
        raise Conflict(f"The booking is already {state.replace('_', ' ')}.")
    booking.state = state
    booking.admin_note = f"{previous} → {state} by admin {admin.id}: {note}"[:500]
    if state in ACTIVE_STATES and previous not in ACTIVE_STATES:
        _check_free(booking, exclude_id=booking.id)
    if state == "cancelled":
        booking.cancellation_policy = cancellation_terms(booking, settings_for(booking.tutor_id), admin.id, now)
        booking.cancelled_at, booking.cancelled_by_id, booking.cancel_reason = now, admin.id, note
    if state == "confirmed" and booking.confirmed_at is None:
        booking.confirmed_at = now
    if state == "completed" and booking.completed_at is None:
        booking.completed_at = now
    if (previous in ("confirmed", "in_progress")) != (state in ("confirmed", "in_progress")):
        booking.sequence += 1

    def side_effects():
        if state == "confirmed":
            reminders.move_reminders(booking, now)
            reminders.notify(booking, "confirmed")
        elif state not in ("in_progress",):
            reminders.drop_reminders(booking)
            if state == "cancelled" and previous in ("confirmed", "in_progress"):
                reminders.notify(booking, "cancelled")

    _write(side_effects)
    availability_changed(booking.tutor_id)
    return booking


@transactional
def admin_reschedule(admin, booking_id, start, now=None):
    """Move an active booking without the tutor's notice/horizon/boundary rules; overlaps still 409."""
    now = now or clock.utcnow()
    _require_aware(start)
    booking = get_booking(admin, booking_id, lock=True)
    if booking.state not in ACTIVE_STATES:
        raise Conflict(f"Cannot reschedule a booking that is {booking.state.replace('_', ' ')}.")
    booking.admin_note = f"rescheduled by admin {admin.id} from {booking.start_at.isoformat()}"[:500]
    return _apply_new_time(booking, start, settings_for(booking.tutor_id), now)


# --- jobs and history ----------------------------------------------------------------------------------------------

def expire_stale_requests(now=None, batch=500):
    """Requests nobody answered before their start become ``expired`` (their slot frees up)."""
    now = now or clock.utcnow()
    stmt = (
        sa.select(Booking).where(Booking.state == "requested", Booking.start_at <= now)
        .order_by(Booking.id).limit(batch)
    )
    if db.engine.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=Booking)
    expired = db.session.scalars(stmt).all()
    for booking in expired:
        booking.state = next_state(booking.state, "expire")
        booking.proposed_start_at = booking.proposed_by_id = None
        reminders.notify(booking, "expired", ics=False, sms=False)
    db.session.commit()
    for tutor_id in {booking.tutor_id for booking in expired}:
        availability_changed(tutor_id)
    return len(expired)


def completed_session_counts(student_id, tutor_ids):
    """{tutor_id: completed sessions with this student} for the given tutors (0 when none)."""
    tutor_ids = list(tutor_ids)
    counts = dict.fromkeys(tutor_ids, 0)
    if not tutor_ids:
        return counts
    rows = db.session.execute(
        sa.select(Booking.tutor_id, sa.func.count())
        .where(Booking.student_id == student_id, Booking.state == "completed", Booking.tutor_id.in_(tutor_ids))
        .group_by(Booking.tutor_id)
    )
    counts.update({tutor_id: count for tutor_id, count in rows})
    return counts
