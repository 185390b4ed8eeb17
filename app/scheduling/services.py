"""Public face of scheduling: other domains (matching, payments, calendars) import from here."""
from datetime import date, timedelta

import sqlalchemy as sa

from app.common import time as clock
from app.common.errors import Invalid
from app.common.time import UTCDateTime
from app.extensions import db
from app.scheduling.availability import (  # noqa: F401  (re-exported)
    get_availability,
    get_tutor,
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
from app.scheduling.models import (
    ACTIVE_STATES,
    AvailabilityOverride,
    AvailabilityRule,
    Booking,
    BusyBlock,
)
from app.scheduling.slots import free_slots

MAX_SLOT_RANGE = timedelta(days=92)


_SLOT_INPUTS = []


def _slot_inputs_query():
    """Built once per process (bound parameters, no per-call statement building): one UNION ALL of plain
    rows for everything slot expansion reads besides the policy. Each row is
    (kind, weekday, date, start_minute, end_minute, start_at, end_at):

    * ``r`` weekly rules, ``o`` date overrides in [first_day, last_day];
    * ``b`` what blocks the tutor in [busy_start, busy_end): active bookings as tutor (buffered range),
      sessions they attend as a student, calendar busy blocks;
    * ``s`` active bookings as tutor starting in [limits_start, limits_end), counted by the limits.

    Every branch is a range scan on a (user, time) index: ix_availability_rules_tutor_id,
    ix_availability_overrides_tutor_date, ix_bookings_tutor_start, ix_bookings_student_start,
    ix_busy_blocks_user_range.
    """
    if not _SLOT_INPUTS:
        tutor = sa.bindparam("tutor_id")
        busy_start, busy_end = sa.bindparam("busy_start", type_=UTCDateTime()), sa.bindparam("busy_end", type_=UTCDateTime())
        limits_start = sa.bindparam("limits_start", type_=UTCDateTime())
        limits_end = sa.bindparam("limits_end", type_=UTCDateTime())
        no_int, no_date, no_time = sa.cast(sa.null(), sa.Integer), sa.cast(sa.null(), sa.Date), sa.cast(sa.null(), UTCDateTime())
        active = Booking.state.in_(ACTIVE_STATES)
        rules = sa.select(
            sa.literal("r"), sa.cast(AvailabilityRule.weekday, sa.Integer), no_date,
            sa.cast(AvailabilityRule.start_minute, sa.Integer), sa.cast(AvailabilityRule.end_minute, sa.Integer),
            no_time, no_time,
        ).where(AvailabilityRule.tutor_id == tutor)
        overrides = sa.select(
            sa.literal("o"), no_int, AvailabilityOverride.date, sa.cast(AvailabilityOverride.start_minute, sa.Integer),
            sa.cast(AvailabilityOverride.end_minute, sa.Integer), no_time, no_time,
        ).where(AvailabilityOverride.tutor_id == tutor, AvailabilityOverride.date >= sa.bindparam("first_day"),
                AvailabilityOverride.date <= sa.bindparam("last_day"))
        as_tutor = sa.select(sa.literal("b"), no_int, no_date, no_int, no_int, Booking.tutor_range_start,
                             Booking.tutor_range_end).where(
            active, Booking.tutor_id == tutor, Booking.tutor_range_start < busy_end, Booking.tutor_range_end > busy_start,
        )
        as_student = sa.select(sa.literal("b"), no_int, no_date, no_int, no_int, Booking.start_at, Booking.end_at).where(
            active, Booking.student_id == tutor, Booking.start_at < busy_end, Booking.end_at > busy_start,
        )
        blocks = sa.select(sa.literal("b"), no_int, no_date, no_int, no_int, BusyBlock.start_at, BusyBlock.end_at).where(
            BusyBlock.user_id == tutor, BusyBlock.start_at < busy_end, BusyBlock.end_at > busy_start,
        )
        counted = sa.select(sa.literal("s"), no_int, no_date, no_int, no_int, Booking.start_at, Booking.end_at).where(
            active, Booking.tutor_id == tutor, Booking.start_at >= limits_start, Booking.start_at < limits_end,
        )
        _SLOT_INPUTS.append(sa.union_all(rules, overrides, as_tutor, as_student, blocks, counted))
    return _SLOT_INPUTS[0]


def slot_inputs(tutor_id, first_day, last_day, busy_start, busy_end, limits_start, limits_end):
    """(rules, overrides, busy, starts) in one round trip; see _slot_inputs_query for the windows."""
    rows = db.session.execute(_slot_inputs_query(), {
        "tutor_id": tutor_id, "first_day": first_day, "last_day": last_day, "busy_start": busy_start,
        "busy_end": busy_end, "limits_start": limits_start, "limits_end": limits_end,
    }).all()
    rules, overrides, busy, starts = [], [], [], []
    for kind, weekday, day, start_minute, end_minute, start_at, end_at in rows:
        if kind == "b":
            busy.append((start_at, end_at))
        elif kind == "s":
            starts.append(start_at)
        elif kind == "r":
            rules.append((weekday, start_minute, end_minute))
        else:
            overrides.append((day if not isinstance(day, str) else date.fromisoformat(day), start_minute, end_minute))
    return rules, overrides, busy, starts


def busy_intervals(tutor_id, range_start, range_end):
    return slot_inputs(tutor_id, None, None, range_start, range_end, range_start, range_start)[2]


def active_starts(tutor_id, range_start, range_end):
    return slot_inputs(tutor_id, None, None, range_end, range_end, range_start, range_end)[3]


def get_slots(tutor_id, start, end, duration=None, now=None):
    """Free bookable slots in [start, end) as UTC instants, with the tutor's zone named."""
    now = now or clock.utcnow()
    if start.tzinfo is None or end.tzinfo is None:
        raise Invalid("start and end must include a UTC offset.")
    if end <= start:
        raise Invalid("end must be after start.", errors={"end": ["Must be after start."]})
    if end - start > MAX_SLOT_RANGE:
        raise Invalid("The range is limited to 92 days.", errors={"end": ["At most 92 days after start."]})
    policy = tutor_policy(tutor_id)
    duration = duration or policy.session_lengths[0]
    if duration not in policy.session_lengths:
        offered = ", ".join(str(length) for length in policy.session_lengths)
        raise Invalid(f"A {duration}-minute session is not offered; choose {offered}.",
                      errors={"duration": [f"Not offered; choose one of {offered}."]})
    margin = timedelta(minutes=policy.buffer_before + policy.buffer_after + duration)
    week = timedelta(days=8)
    first_day = (start - timedelta(days=1)).date()
    last_day = (end + timedelta(days=1)).date()
    rules, overrides, busy, starts = slot_inputs(tutor_id, first_day - timedelta(days=1), last_day, start - margin,
                                                 end + margin, start - week, end + week)
    slots = free_slots(policy, rules, overrides, busy, starts, start, end, duration, now)
    return {
        "tutor_id": tutor_id,
        "timezone": policy.zone,
        "duration": duration,
        "slots": [{"start": slot_start, "end": slot_end} for slot_start, slot_end in slots],
    }
