"""Public face of scheduling: other domains (matching, calendars, payments) and the admin portal import from here.

Writes change the session and never commit (the caller's unit of work does); booking state changes publish the
events listed in ``lifecycle``.
"""
import json
from datetime import UTC, date, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from app.common import time as clock
from app.common.errors import DomainError, Invalid, NotFound
from app.common.time import UTCDateTime
from app.extensions import db
from app.scheduling import ics, queries
from app.scheduling.availability import (  # noqa: F401  (re-exported)
    get_availability,
    get_tutor,
    overrides_for,
    policy_for,
    policy_from_row,
    put_availability,
    rules_for,
    settings_for,
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
from app.scheduling.busy import (  # noqa: F401  (re-exported)
    add_busy,
    add_out_of_office,
    delete_busy,
    list_busy,
    sync_external_busy,
    tell_students_out_of_office,
)
from app.scheduling.history import (  # noqa: F401  (re-exported)
    bookings_not_over,
    completed_session_counts,
    expire_stale_requests,
    tutors_with_completed_sessions,
)
from app.scheduling.ics import subject_name  # noqa: F401  (re-exported)
from app.scheduling.models import (
    ACTIVE_STATES,
    AvailabilityOverride,
    AvailabilityRule,
    Booking,
    BusyBlock,
    SchedulingSettings,
)
from app.scheduling.slots import free_slots

MAX_SLOT_RANGE = timedelta(days=92)


# Busy time is read this far around the window before the policy is known: buffers plus duration up to a day
# (the API allows at most 120 + 120 + 240 minutes) are covered; a longer margin re-reads. Reading more busy
# intervals than needed changes nothing: one that overlaps no candidate slot blocks none.
BUSY_MARGIN = timedelta(days=1)
LIMITS_MARGIN = timedelta(days=8)

_SLOT_INPUTS = []
_INTS, _TIMES, _TEXTS = 8, 4, 3


def _row(kind, ints=(), day=None, times=(), texts=()):
    """One UNION ALL branch's columns: kind, 8 integers, a date, 4 instants, 3 texts (typed NULLs pad)."""

    def pad(values, count, type_):
        values = list(values) + [None] * (count - len(values))
        return [sa.cast(sa.null(), type_) if value is None else sa.type_coerce(value, type_) for value in values]

    # Real columns are only type-coerced (SQLite's CAST(x AS DATE) would turn '2026-03-05' into 2026).
    return [sa.literal(kind), *pad(ints, _INTS, sa.Integer), *pad([day], 1, sa.Date),
            *pad(times, _TIMES, UTCDateTime()), *pad(texts, _TEXTS, sa.Text)]


def _slot_inputs_query():
    """Built once per process (bound parameters, no per-call statement building): everything slot expansion
    reads, as one UNION ALL of plain rows, so a slot request is one round trip:

    * ``p`` the tutor (only if active and a tutor): settings id, interval, buffers, notice, horizon, limits;
      user zone, settings zone, session lengths (JSON text);
    * ``r`` weekly rules, ``o`` date overrides in [first_day, last_day];
    * ``k`` active bookings of the tutor: as tutor overlapping the busy window with their buffered range, or
      starting in the limits window; as a student overlapping the busy window (two branches, one index each:
      a booking never has the same user on both sides);
    * ``b`` calendar busy blocks overlapping the busy window.

    Each branch is a scan on a (user, …) index: pk_users, ix_availability_rules_tutor_id,
    ix_availability_overrides_tutor_date, ix_bookings_tutor_start / ix_bookings_student_start,
    ix_busy_blocks_user_range.

    On PostgreSQL the same rows come from the ``slot_inputs`` function (migration 0011), whose plan the server
    keeps: see _PG_SLOT_INPUTS.
    """
    if not _SLOT_INPUTS:
        _SLOT_INPUTS.append(_slot_inputs_union(lambda column: column == sa.bindparam("tutor_id"), owner=False))
    return _SLOT_INPUTS[0]


def _slot_inputs_union(is_tutor_id, owner):
    """The UNION ALL of _slot_inputs_query, each branch keeping rows whose user column satisfies ``is_tutor_id``;
    with ``owner`` every row starts with that column (the tutor the row is for)."""
    from app.users.models import User, UserRole

    busy_start = sa.bindparam("busy_start", type_=UTCDateTime())
    busy_end = sa.bindparam("busy_end", type_=UTCDateTime())
    limits_start = sa.bindparam("limits_start", type_=UTCDateTime())
    limits_end = sa.bindparam("limits_end", type_=UTCDateTime())

    def branch(user_column, columns):
        return sa.select(*([user_column] if owner else []), *columns).where(is_tutor_id(user_column))

    settings = SchedulingSettings
    is_tutor = sa.exists().where(UserRole.user_id == User.id, UserRole.role == "tutor")
    policy = branch(User.id, _row(
        "p",
        ints=(settings.tutor_id, settings.slot_interval_minutes, settings.buffer_before_minutes,
              settings.buffer_after_minutes, settings.min_notice_minutes, settings.max_days_ahead,
              settings.daily_limit, settings.weekly_limit),
        texts=(User.timezone, settings.timezone, sa.cast(settings.session_lengths, sa.Text)),
    )).select_from(User).outerjoin(settings, settings.tutor_id == User.id).where(User.is_active.is_(True), is_tutor)
    rules = branch(AvailabilityRule.tutor_id, _row(
        "r", ints=(AvailabilityRule.weekday, AvailabilityRule.start_minute, AvailabilityRule.end_minute)))
    overrides = branch(AvailabilityOverride.tutor_id, _row(
        "o", ints=(None, AvailabilityOverride.start_minute, AvailabilityOverride.end_minute),
        day=AvailabilityOverride.date,
    )).where(AvailabilityOverride.date >= sa.bindparam("first_day"),
             AvailabilityOverride.date <= sa.bindparam("last_day"))
    booking = _row("k", ints=(Booking.tutor_id, Booking.student_id),
                   times=(Booking.start_at, Booking.end_at, Booking.tutor_range_start, Booking.tutor_range_end))
    active = Booking.state.in_(ACTIVE_STATES)
    as_tutor = branch(Booking.tutor_id, booking).where(active, sa.or_(
        sa.and_(Booking.tutor_range_start < busy_end, Booking.tutor_range_end > busy_start),
        sa.and_(Booking.start_at >= limits_start, Booking.start_at < limits_end),
    ))
    as_student = branch(Booking.student_id, booking).where(active, Booking.start_at < busy_end,
                                                           Booking.end_at > busy_start)
    blocks = branch(BusyBlock.user_id, _row("b", times=(BusyBlock.start_at, BusyBlock.end_at))).where(
        BusyBlock.start_at < busy_end, BusyBlock.end_at > busy_start)
    return sa.union_all(policy, rules, overrides, as_tutor, as_student, blocks)


_MANY_SLOT_INPUTS = {}


def _many_slot_inputs_query(dialect):
    """_slot_inputs_query for a list of tutors (``tutor_ids``), each row led by its tutor's id: the same branches
    and conditions (one statement, built once per dialect; an array parameter on PostgreSQL)."""
    if dialect not in _MANY_SLOT_INPUTS:
        if dialect == "postgresql":
            ids = sa.bindparam("tutor_ids", type_=ARRAY(sa.Integer))
            _MANY_SLOT_INPUTS[dialect] = _slot_inputs_union(lambda column: column == sa.any_(ids), owner=True)
        else:
            ids = sa.bindparam("tutor_ids", expanding=True)
            _MANY_SLOT_INPUTS[dialect] = _slot_inputs_union(lambda column: column.in_(ids), owner=True)
    return _MANY_SLOT_INPUTS[dialect]


# PostgreSQL: the rows of _slot_inputs_query from a PL/pgSQL function (migration 0011), whose plan lives as long as
# the server connection (sent as SQL, the UNION ALL would be parsed and planned on every call: psycopg drops its
# prepared statements at each ROLLBACK, which ends every read-only request). No result types are declared:
# psycopg's values are used as they come (aware instants in the connection's zone, turned to UTC below).
_PG_SLOT_INPUTS = sa.text(
    "SELECT * FROM slot_inputs(:tutor_id, :first_day, :last_day, :busy_start, :busy_end, :limits_start, :limits_end)"
).bindparams(sa.bindparam("tutor_id", type_=sa.Integer()), sa.bindparam("first_day", type_=sa.Date()),
             sa.bindparam("last_day", type_=sa.Date()), sa.bindparam("busy_start", type_=UTCDateTime()),
             sa.bindparam("busy_end", type_=UTCDateTime()), sa.bindparam("limits_start", type_=UTCDateTime()),
             sa.bindparam("limits_end", type_=UTCDateTime()))


def slot_input_rows(tutor_id, first_day, last_day, busy_start, busy_end, limits_start, limits_end):
    """The raw rows of _slot_inputs_query (the ``slot_inputs`` function on PostgreSQL)."""
    session = db.session
    statement = _PG_SLOT_INPUTS if session.get_bind().dialect.name == "postgresql" else _slot_inputs_query()
    return session.execute(statement, {
        "tutor_id": tutor_id, "first_day": first_day, "last_day": last_day, "busy_start": busy_start,
        "busy_end": busy_end, "limits_start": limits_start, "limits_end": limits_end,
    }).all()


def slot_inputs(tutor_id, first_day, last_day, busy_start, busy_end, limits_start, limits_end):
    """(policy or None, rules, overrides, busy, starts) in one round trip; see _slot_inputs_query.

    ``busy``: buffered ranges of the tutor's active bookings and their sessions as a student overlapping
    [busy_start, busy_end), and calendar blocks; ``starts``: starts of their active bookings as tutor in
    [limits_start, limits_end). The policy is None when the user is not an active tutor. Instants are UTC.
    """
    rows = slot_input_rows(tutor_id, first_day, last_day, busy_start, busy_end, limits_start, limits_end)
    return _parse_slot_inputs(tutor_id, rows, busy_start, busy_end, limits_start, limits_end)


def _parse_slot_inputs(tutor_id, rows, busy_start, busy_end, limits_start, limits_end):
    """slot_inputs' answer from the raw rows of one tutor."""
    policy, rules, overrides, busy, starts = None, [], [], [], []
    for kind, i1, i2, i3, i4, i5, i6, i7, i8, day, t1, t2, t3, t4, s1, s2, s3 in rows:
        if kind == "k":
            if i1 == tutor_id:
                if t3 < busy_end and t4 > busy_start:
                    busy.append((t3.astimezone(UTC), t4.astimezone(UTC)))
                if limits_start <= t1 < limits_end:
                    starts.append(t1.astimezone(UTC))
            else:
                busy.append((t1.astimezone(UTC), t2.astimezone(UTC)))
        elif kind == "b":
            busy.append((t1.astimezone(UTC), t2.astimezone(UTC)))
        elif kind == "r":
            rules.append((i1, i2, i3))
        elif kind == "o":
            overrides.append((day if not isinstance(day, str) else date.fromisoformat(day), i2, i3))
        else:
            settings_row = None if i1 is None else (s2, json.loads(s3), i2, i3, i4, i5, i6, i7, i8)
            policy = policy_from_row(tutor_id, s1, settings_row)
    return policy, rules, overrides, busy, starts


def many_slot_inputs(tutor_ids, first_day, last_day, busy_start, busy_end, limits_start, limits_end):
    """{tutor_id: slot_inputs(tutor_id, ...)} for every id, in one round trip (_many_slot_inputs_query; a test
    holds it equal to slot_inputs, tutor by tutor)."""
    rows_of = {tutor_id: [] for tutor_id in tutor_ids}
    if rows_of:
        statement = _many_slot_inputs_query(db.session.get_bind().dialect.name)
        for row in db.session.execute(statement, {
            "tutor_ids": list(rows_of), "first_day": first_day, "last_day": last_day, "busy_start": busy_start,
            "busy_end": busy_end, "limits_start": limits_start, "limits_end": limits_end,
        }):
            rows_of[row[0]].append(tuple(row[1:]))
    return {tutor_id: _parse_slot_inputs(tutor_id, rows, busy_start, busy_end, limits_start, limits_end)
            for tutor_id, rows in rows_of.items()}


def busy_intervals(tutor_id, range_start, range_end):
    return slot_inputs(tutor_id, None, None, range_start, range_end, range_start, range_start)[3]


def active_starts(tutor_id, range_start, range_end):
    return slot_inputs(tutor_id, None, None, range_end, range_end, range_start, range_end)[4]


def _check_range(start, end):
    if start.tzinfo is None or end.tzinfo is None:
        raise Invalid("start and end must include a UTC offset.")
    if end <= start:
        raise Invalid("end must be after start.", errors={"end": ["Must be after start."]})
    if end - start > MAX_SLOT_RANGE:
        raise Invalid("The range is limited to 92 days.", errors={"end": ["At most 92 days after start."]})


def _read_window(start, end):
    """The days, busy window and limits window slot_inputs reads for slots starting in [start, end)."""
    first_day = (start - timedelta(days=1)).date() - timedelta(days=1)
    last_day = (end + timedelta(days=1)).date()
    return first_day, last_day, start - BUSY_MARGIN, end + BUSY_MARGIN, start - LIMITS_MARGIN, end + LIMITS_MARGIN


def session_length(policy, duration=None):
    """The requested session length if the tutor offers it (None if not); without one, the shortest offered."""
    if duration is None:
        return min(policy.session_lengths)
    return duration if duration in policy.session_lengths else None


def _free_slots(tutor_id, inputs, window, start, end, duration, now):
    """free_slots from slot_inputs read over ``window`` (re-read wider when buffers and duration need it)."""
    policy, rules, overrides, busy, starts = inputs
    margin = timedelta(minutes=policy.buffer_before + policy.buffer_after + duration)
    if margin > BUSY_MARGIN:  # settings beyond what the API accepts: read the wider busy window
        first_day, last_day, _busy_start, _busy_end, *limits = window
        _policy, rules, overrides, busy, starts = slot_inputs(tutor_id, first_day, last_day, start - margin,
                                                              end + margin, *limits)
    return free_slots(policy, rules, overrides, busy, starts, start, end, duration, now)


def get_slots(tutor_id, start, end, duration=None, now=None):
    """Free bookable slots in [start, end) as UTC instants, with the tutor's zone named; the duration defaults to
    the tutor's shortest session."""
    now = now or clock.utcnow()
    _check_range(start, end)
    window = _read_window(start, end)
    inputs = slot_inputs(tutor_id, *window)
    policy = inputs[0]
    if policy is None:
        raise NotFound("No such tutor.")
    length = session_length(policy, duration)
    if length is None:
        offered = ", ".join(str(length) for length in policy.session_lengths)
        raise Invalid(f"A {duration}-minute session is not offered; choose {offered}.",
                      errors={"duration": [f"Not offered; choose one of {offered}."]})
    slots = _free_slots(tutor_id, inputs, window, start, end, length, now)
    return {
        "tutor_id": tutor_id,
        "timezone": policy.zone,
        "duration": length,
        "slots": [{"start": slot_start, "end": slot_end} for slot_start, slot_end in slots],
    }


def tutors_with_slots(tutor_ids, start, end, duration=None, now=None):
    """The ids (in the order given) of the tutors for whom get_slots(id, start, end, duration) would list at least
    one slot: active tutors offering the duration (default: each one's shortest) with a free slot starting in
    [start, end). The same inputs and the same expansion as get_slots, read for all of them in one round trip."""
    now = now or clock.utcnow()
    _check_range(start, end)
    window = _read_window(start, end)
    inputs_of = many_slot_inputs(tutor_ids, *window)
    found = []
    for tutor_id in tutor_ids:
        inputs = inputs_of[tutor_id]
        if inputs[0] is None:
            continue
        length = session_length(inputs[0], duration)
        if length is not None and _free_slots(tutor_id, inputs, window, start, end, length, now):
            found.append(tutor_id)
    return found


def may_have_slots(tutor_id):
    """SQL condition on a tutor id column, true for every tutor tutors_with_slots could keep (a superset: a
    prefilter, so search only expands the slots of plausible tutors); execute it with
    may_have_slots_params(start, end, now). See queries.may_have_slots."""
    return queries.may_have_slots(tutor_id, db.session.get_bind().dialect.name)


def may_have_slots_params(start, end, now=None):
    """The parameter values of may_have_slots for slots starting in [start, end), seen at ``now``."""
    return queries.prefilter_params(start, end, now or clock.utcnow(), db.session.get_bind().dialect.name)


def availability_fractions(tutor_ids, windows):
    """{tutor_id: share of ``windows`` ((start, end) aware datetimes) in which the tutor has a free slot}; {} when
    no windows are given. A window the tutor cannot be booked in (past, beyond the horizon …) is not free."""
    if not windows:
        return {}
    fractions = {}
    for tutor_id in tutor_ids:
        free = 0
        for start, end in windows:
            try:
                free += bool(get_slots(tutor_id, start, end)["slots"])
            except DomainError:
                pass
        fractions[tutor_id] = free / len(windows)
    return fractions


def calendar_feed(user_id, states, ended_after, name):
    """RFC 5545 calendar (METHOD:PUBLISH) of the user's bookings, either side, in ``states`` that were confirmed
    once and end after ``ended_after``, by start; stable UIDs, so calendar apps update their events."""
    bookings = db.session.scalars(
        sa.select(Booking)
        .where(sa.or_(Booking.tutor_id == user_id, Booking.student_id == user_id))
        .where(Booking.confirmed_at.is_not(None), Booking.state.in_(states))
        .where(Booking.end_at >= ended_after)
        .order_by(Booking.start_at)
    ).all()
    return ics.calendar([ics.booking_event(booking, user_id) for booking in bookings], method="PUBLISH", name=name)
