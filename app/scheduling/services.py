"""Public face of scheduling: other domains (matching, payments, calendars) import from here."""
from datetime import timedelta

import sqlalchemy as sa

from app.common import time as clock
from app.common.errors import Invalid
from app.common.time import UTCDateTime
from app.extensions import db
from app.scheduling.availability import (  # noqa: F401  (re-exported)
    get_availability,
    get_tutor,
    hours_for,
    overrides_for,
    policy_for,
    put_availability,
    rules_for,
    settings_for,
    tutor_policy,
)
from app.scheduling.bookings import (  # noqa: F401  (re-exported)
    accept,
    admin_reschedule,
    admin_set_state,
    cancel,
    create_booking,
    get_booking,
    list_bookings,
    mark,
    reject,
    reschedule,
    respond_to_proposal,
)
from app.scheduling.history import completed_session_counts, expire_stale_requests  # noqa: F401
from app.scheduling.models import ACTIVE_STATES, Booking, BusyBlock
from app.scheduling.slots import free_slots

MAX_SLOT_RANGE = timedelta(days=92)


def busy_and_starts(tutor_id, range_start, range_end, limits_start, limits_end):
    """One round trip for what blocks the tutor in a window (buffered active bookings as tutor, sessions they
    attend as a student, calendar busy blocks) and the starts of active bookings counted by the limits."""
    active = Booking.state.in_(ACTIVE_STATES)
    as_tutor = sa.select(sa.literal("b"), Booking.tutor_range_start, Booking.tutor_range_end).where(
        active, Booking.tutor_id == tutor_id, Booking.tutor_range_start < range_end,
        Booking.tutor_range_end > range_start,
    )
    as_student = sa.select(sa.literal("b"), Booking.start_at, Booking.end_at).where(
        active, Booking.student_id == tutor_id, Booking.start_at < range_end, Booking.end_at > range_start,
    )
    blocks = sa.select(sa.literal("b"), BusyBlock.start_at, BusyBlock.end_at).where(
        BusyBlock.user_id == tutor_id, BusyBlock.start_at < range_end, BusyBlock.end_at > range_start,
    )
    counted = sa.select(sa.literal("s"), Booking.start_at, Booking.end_at).where(
        active, Booking.tutor_id == tutor_id, Booking.start_at >= limits_start, Booking.start_at < limits_end,
    )
    stmt = sa.union_all(as_tutor, as_student, blocks, counted).subquery()
    column = UTCDateTime()
    busy, starts = [], []
    for kind, start, end in db.session.execute(sa.select(stmt.c[0], sa.type_coerce(stmt.c[1], column),
                                                         sa.type_coerce(stmt.c[2], column))):
        if kind == "b":
            busy.append((start, end))
        else:
            starts.append(start)
    return busy, starts


def busy_intervals(tutor_id, range_start, range_end):
    return busy_and_starts(tutor_id, range_start, range_end, range_start, range_start)[0]


def active_starts(tutor_id, range_start, range_end):
    return busy_and_starts(tutor_id, range_end, range_end, range_start, range_end)[1]


def get_slots(tutor_id, start, end, duration=None, now=None):
    """Free bookable slots in [start, end) as UTC instants, with the tutor's zone named."""
    now = now or clock.utcnow()
    if start.tzinfo is None or end.tzinfo is None:
        raise Invalid("start and end must include a UTC offset.")
    if end <= start:
        raise Invalid("end must be after start.", errors={"end": ["Must be after start."]})
    if end - start > MAX_SLOT_RANGE:
        raise Invalid("The range is limited to 92 days.", errors={"end": ["At most 92 days after start."]})
    policy, _settings = tutor_policy(tutor_id)
    duration = duration or policy.session_lengths[0]
    if duration not in policy.session_lengths:
        offered = ", ".join(str(length) for length in policy.session_lengths)
        raise Invalid(f"A {duration}-minute session is not offered; choose {offered}.",
                      errors={"duration": [f"Not offered; choose one of {offered}."]})
    margin = timedelta(minutes=policy.buffer_before + policy.buffer_after + duration)
    week = timedelta(days=8)
    first_day = (start - timedelta(days=1)).date()
    last_day = (end + timedelta(days=1)).date()
    rules, overrides = hours_for(tutor_id, first_day - timedelta(days=1), last_day)
    busy, starts = busy_and_starts(tutor_id, start - margin, end + margin, start - week, end + week)
    slots = free_slots(policy, rules, overrides, busy, starts, start, end, duration, now)
    return {
        "tutor_id": tutor_id,
        "timezone": policy.zone,
        "duration": duration,
        "slots": [{"start": slot_start, "end": slot_end} for slot_start, slot_end in slots],
    }
