"""Booking guards: is a start bookable by the tutor's rules (422 with the reason), within limits, and free?

A booking write first takes ``lock_participants``: until its transaction ends no other booking write involving
the tutor or the student (in either role) runs its checks. So the counting checks (daily/weekly limits, the cap
on pending requests) and the cross-role overlap check, which no constraint covers, hold under concurrency:
PostgreSQL takes an advisory lock per person, SQLite its database write lock (``app.common.database.lock_keys``).
``assert_no_overlap`` is then the application-level double-booking check; on PostgreSQL the exclusion
constraints stay as the last word on same-role overlaps.
"""
from datetime import timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app.common.database import LOCK_BOOKING_PERSON, lock_keys
from app.common.errors import Conflict, Invalid
from app.extensions import db
from app.scheduling.availability import (
    overrides_for,
    policy_for,
    rules_for,
    settings_for,
)
from app.scheduling.models import ACTIVE_STATES, Booking, BusyBlock
from app.scheduling.slots import candidate_slots, local_week

TAKEN = "That time is no longer available."
OVERLAP = "Overlaps another active session."


def require_aware(start):
    if start.tzinfo is None or start.utcoffset() is None:
        raise Invalid("start must include a UTC offset.", errors={"start": ["Naive datetimes are not accepted."]})


def validate_start(tutor, start, duration, now, settings=None, check_window=True):
    """422 with the reason when ``start``/``duration`` are not bookable by the tutor's rules."""
    require_aware(start)
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


def lock_participants(tutor_id, student_id):
    """Serialise booking writes per person, whatever their role, until the transaction ends."""
    lock_keys(db.session, LOCK_BOOKING_PERSON, (tutor_id, student_id))


def assert_pending_cap(student_id, tutor_id, cap):
    """409 when the student already holds ``cap`` unanswered requests with this tutor (0: no cap)."""
    if not cap:
        return
    stmt = sa.select(sa.func.count()).select_from(Booking).where(
        Booking.student_id == student_id, Booking.tutor_id == tutor_id, Booking.state == "requested")
    with db.session.no_autoflush:
        pending = db.session.scalar(stmt)
    if pending >= cap:
        raise Conflict(f"You already have {pending} pending requests with this tutor (at most {cap}); wait for "
                       "an answer or cancel one first.", errors={"tutor_id": ["Too many pending requests."]})


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
    # No autoflush: the pending change is checked, not written (the service flushes it once it is checked).
    with db.session.no_autoflush:
        clash = db.session.scalar(tutor_clash.limit(1)) or db.session.scalar(person_clash.limit(1))
        busy_id = db.session.scalar(busy.limit(1))
    if clash is not None:
        raise Conflict(TAKEN, errors={"start": [OVERLAP]})
    if busy_id is not None:
        raise Conflict("The tutor is busy at that time.", errors={"start": ["The tutor is busy."]})


def set_time(booking, start, settings):
    booking.start_at = start
    booking.end_at = start + timedelta(minutes=booking.duration_minutes)
    booking.tutor_range_start = start - timedelta(minutes=settings.buffer_before_minutes)
    booking.tutor_range_end = booking.end_at + timedelta(minutes=settings.buffer_after_minutes)


def check_free(booking, exclude_id=None):
    """The booking's (pending) time against everyone else's active sessions and the tutor's busy blocks."""
    assert_no_overlap(booking.tutor_id, booking.student_id, booking.start_at, booking.end_at,
                      booking.tutor_range_start, booking.tutor_range_end, exclude_id)
