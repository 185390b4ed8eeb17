"""Search's availability prefilter: a SQL condition true for every tutor who may have a bookable slot in a window.

It is a necessary condition, never the answer: search keeps the tutors it passes, in order, only when
``services.tutors_with_slots`` (the slot expansion /slots runs) finds a slot, so a loose prefilter costs time,
never correctness. What it checks, per tutor, from the same settings defaults as slot expansion:

* the notice and the horizon leave part of the window bookable (exact: max(start, now + notice) <
  min(end, now + max_days_ahead));
* PostgreSQL: some weekly hours or date override meets the window in the tutor's local wall-clock time, widened
  on both sides by the spread of the zone's offsets over the window (a wall time reached twice after a fall-back
  can lie that far outside the wall times of the window's ends; WALL_SLACK, above any DST shift, for windows
  longer than a week). The window's wall time in every zone
  is computed in Python for the zones in use (zone_windows, one JSON parameter); weekly hours are compared as intervals on the cyclic
  week (minute of the week, Monday 00:00 = 0), overrides in minutes since 1970, so no dates are generated;
* SQLite (development and tests; no zone conversion in SQL): some weekly hours, or an override with hours
  within a day of the window's UTC dates.

Bookings, busy blocks, buffers and limits are left to the expansion.
"""
import functools
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from app.extensions import db
from app.scheduling.models import AvailabilityOverride, AvailabilityRule, SchedulingSettings
from app.users.models import User

WALL_SLACK = timedelta(hours=3)
WEEK_MINUTES = 7 * 1440


def _default(column):
    return SchedulingSettings.__table__.c[column].default.arg


def bookable_condition():
    """Notice and horizon leave part of [start, end) bookable (settings columns, NULL meaning the default); the
    parameters ``avail_until`` and ``avail_from`` are the minutes from now to the window's end and start."""
    notice = sa.func.coalesce(SchedulingSettings.min_notice_minutes, _default("min_notice_minutes"))
    horizon = sa.func.coalesce(SchedulingSettings.max_days_ahead, _default("max_days_ahead")) * 1440
    return sa.and_(notice < sa.bindparam("avail_until", type_=sa.Float),
                   horizon > sa.bindparam("avail_from", type_=sa.Float), notice < horizon)


_PROBES = {}


def _probe(dialect):
    """SELECT 1 FROM users LEFT JOIN scheduling_settings WHERE (notice and horizon) AND (hours) LIMIT 1, built once
    per dialect with named bind parameters (prefilter_params gives their values): search adds the tutor and
    executes it, with no expression to build per request."""
    if dialect not in _PROBES:
        settings = SchedulingSettings
        hours = _local_hours_condition() if dialect == "postgresql" else _portable_hours_condition()
        _PROBES[dialect] = (sa.select(sa.literal(1)).select_from(User)
                            .outerjoin(settings, settings.tutor_id == User.id)
                            .where(bookable_condition(), hours).limit(1))
    return _PROBES[dialect]


def may_have_slots(tutor_id, dialect):
    """The condition on ``tutor_id`` (a column of the outer query), to be executed with prefilter_params; see the
    module docstring. A scalar subquery rather than EXISTS: PostgreSQL then tests it row by row as the outer
    query walks its order (stopping at the LIMIT), instead of turning it into a semi-join over every tutor."""
    return _probe(dialect).where(User.id == tutor_id).scalar_subquery().is_not(None)


def prefilter_params(start, end, now, dialect):
    """The values of may_have_slots' parameters for the window [start, end) seen at ``now``."""
    first_day, last_day = _date_range(start, end)
    params = {"avail_until": (end - now).total_seconds() / 60, "avail_from": (start - now).total_seconds() / 60,
              "avail_first_day": first_day, "avail_last_day": last_day}
    if dialect == "postgresql":
        params["avail_zone_windows"] = zone_windows(start, end, zones_in_use())
    return params


def _date_range(start, end):
    """Every local date any zone (UTC-12 to UTC+14, plus the slack) gives the window falls in this range."""
    return (start - timedelta(days=2)).date(), (end + timedelta(days=2)).date()


def _first_and_last_day():
    return sa.bindparam("avail_first_day", type_=sa.Date), sa.bindparam("avail_last_day", type_=sa.Date)


def _portable_hours_condition():
    first_day, last_day = _first_and_last_day()
    rules = sa.select(1).where(AvailabilityRule.tutor_id == User.id).exists()
    overrides = sa.select(1).where(
        AvailabilityOverride.tutor_id == User.id, AvailabilityOverride.start_minute.is_not(None),
        AvailabilityOverride.date >= first_day, AvailabilityOverride.date <= last_day).exists()
    return sa.or_(rules, overrides)


EPOCH = date(1970, 1, 1)


ZONES_TTL_SECONDS = 300
_zones_seen = {}


def zones_in_use():
    """The zones users and scheduling settings name, read at most every ZONES_TTL_SECONDS per process. A zone
    set since then has no entry in zone_windows, and its tutors pass the prefilter (the expansion decides)."""
    now = time.monotonic()
    if not _zones_seen or now - _zones_seen["at"] > ZONES_TTL_SECONDS:
        names = db.session.scalars(sa.union(
            sa.select(User.timezone),
            sa.select(SchedulingSettings.timezone).where(SchedulingSettings.timezone.is_not(None)))).all()
        _zones_seen.update(at=now, names=tuple(sorted(set(names) | {"UTC"})))
    return _zones_seen["names"]


def forget_zones():
    _zones_seen.clear()


SAMPLE_STEP = timedelta(hours=6)
SAMPLED_WINDOW = timedelta(days=7)


def _wall_slack(zone, start, end):
    """How far the wall times of the instants in [start, end) can lie outside [wall(start), wall(end)]: zero when
    the zone keeps one offset over the window (sampled every 6 hours: offset changes are months apart), else the
    spread of its offsets; WALL_SLACK for windows longer than a week."""
    if end - start > SAMPLED_WINDOW:
        return WALL_SLACK
    offsets = set()
    instant = start
    while instant < end:
        offsets.add(instant.astimezone(zone).utcoffset())
        instant += SAMPLE_STEP
    offsets.add(end.astimezone(zone).utcoffset())
    return max(offsets) - min(offsets)


@functools.lru_cache(maxsize=256)
def zone_windows(start, end, names):
    """{zone: [minute of the week, length in minutes, minutes since 1970-01-01]} of the window's local wall
    time in each of ``names`` known to zoneinfo (the zones slot expansion uses), widened by _wall_slack (minutes
    rounded outwards): the database needs no time zone data of its own."""
    windows = {}
    for name in names:
        try:
            zone = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue  # no entry: the tutor passes
        slack = _wall_slack(zone, start, end)
        low = (start.astimezone(zone) - slack).replace(tzinfo=None)
        high = (end.astimezone(zone) + slack).replace(tzinfo=None)
        low_minute = (low - datetime.combine(EPOCH, datetime.min.time())) // timedelta(minutes=1)
        span = -((low - high) // timedelta(minutes=1)) + 1
        windows[name] = [(low.weekday() * 1440 + low.hour * 60 + low.minute), span, low_minute]
    return windows


def _local_hours_condition():
    """PostgreSQL: weekly hours or an override meeting the tutor zone's entry of zone_windows (a tutor whose zone
    has none is kept)."""
    zone = sa.func.coalesce(SchedulingSettings.timezone, User.timezone, "UTC")
    # A jsonb parameter (no text to parse per row, whether the plan is custom or generic).
    windows = sa.bindparam("avail_zone_windows", type_=JSONB)
    entry = windows.op("->")(zone)
    low, span, low_abs = (sa.cast(entry.op("->>")(index), sa.Integer) for index in range(3))

    rule = AvailabilityRule
    opening = rule.weekday * 1440 + rule.start_minute
    rules = sa.select(1).where(rule.tutor_id == User.id, sa.or_(
        span >= WEEK_MINUTES,
        sa.func.mod(opening - low + 2 * WEEK_MINUTES, WEEK_MINUTES) < span,  # hours open inside the window
        sa.func.mod(low - opening + 2 * WEEK_MINUTES, WEEK_MINUTES) < rule.end_minute - rule.start_minute,
    )).exists()

    override = AvailabilityOverride
    first_day, last_day = _first_and_last_day()
    day_minute = (override.date - EPOCH) * 1440
    overrides = sa.select(1).where(
        override.tutor_id == User.id, override.start_minute.is_not(None),
        override.date >= first_day, override.date <= last_day,
        day_minute + override.start_minute < low_abs + span, day_minute + override.end_minute > low_abs,
    ).exists()
    return sa.or_(entry.is_(None), rules, overrides)
