"""Search's availability prefilter: a SQL condition true for every tutor who may have a bookable slot in a window.

It is a necessary condition, never the answer: search keeps the tutors it passes, in order, only when
``services.tutors_with_slots`` (the slot expansion /slots runs) finds a slot, so a loose prefilter costs time,
never correctness. What it checks, per tutor, from the same settings defaults as slot expansion:

* the notice and the horizon leave part of the window bookable (exact: max(start, now + notice) <
  min(end, now + max_days_ahead));
* PostgreSQL: some weekly hours or date override meets the window in the tutor's local wall-clock time, widened
  by WALL_SLACK on both sides (a wall time reached twice after a fall-back, or a DST shift up to Antarctica/Troll's
  two hours, can lie that far outside the wall times of the window's ends). Weekly hours are compared as
  intervals on the cyclic week (minute of the week, Monday 00:00 = 0), so no dates are generated;
* SQLite (development and tests; no zone conversion in SQL): some weekly hours, or an override with hours
  within a day of the window's UTC dates.

Bookings, busy blocks, buffers and limits are left to the expansion.
"""
from datetime import timedelta

import sqlalchemy as sa

from app.extensions import db
from app.scheduling.models import AvailabilityOverride, AvailabilityRule, SchedulingSettings
from app.users.models import User

WALL_SLACK = timedelta(hours=3)
WEEK_MINUTES = 7 * 1440


def _default(column):
    return SchedulingSettings.__table__.c[column].default.arg


def bookable_condition(start, end, now):
    """Notice and horizon leave part of [start, end) bookable (settings columns, NULL meaning the default)."""
    notice = sa.func.coalesce(SchedulingSettings.min_notice_minutes, _default("min_notice_minutes"))
    horizon = sa.func.coalesce(SchedulingSettings.max_days_ahead, _default("max_days_ahead")) * 1440
    return sa.and_(notice < (end - now).total_seconds() / 60, horizon > (start - now).total_seconds() / 60,
                   notice < horizon)


def may_have_slots(tutor_id, start, end, now):
    """The condition on ``tutor_id`` (a column of the outer query); see the module docstring."""
    settings = SchedulingSettings
    if db.session.get_bind().dialect.name == "postgresql":
        hours = _local_hours_condition(start, end)
    else:
        hours = _portable_hours_condition(start, end)
    return (sa.select(1).select_from(User).outerjoin(settings, settings.tutor_id == User.id)
            .where(User.id == tutor_id, bookable_condition(start, end, now), hours).exists())


def _portable_hours_condition(start, end):
    rules = sa.select(1).where(AvailabilityRule.tutor_id == User.id).exists()
    overrides = sa.select(1).where(
        AvailabilityOverride.tutor_id == User.id, AvailabilityOverride.start_minute.is_not(None),
        AvailabilityOverride.date >= (start - timedelta(days=2)).date(),
        AvailabilityOverride.date <= (end + timedelta(days=2)).date()).exists()
    return sa.or_(rules, overrides)


def _local_hours_condition(start, end):
    """PostgreSQL: weekly hours or an override meeting [start - slack, end + slack) in the tutor's wall time."""
    zone = sa.func.coalesce(SchedulingSettings.timezone, User.timezone, "UTC")
    slack = sa.literal(WALL_SLACK, sa.Interval)
    low = sa.func.timezone(zone, sa.literal(start, sa.DateTime(timezone=True))) - slack
    high = sa.func.timezone(zone, sa.literal(end, sa.DateTime(timezone=True))) + slack
    low_minute = sa.cast((sa.extract("isodow", low) - 1) * 1440 + sa.extract("hour", low) * 60
                         + sa.extract("minute", low), sa.Integer)  # whole minutes: rounds down, widening
    span = sa.cast(sa.func.ceil(sa.extract("epoch", high - low) / 60), sa.Integer)

    rule = AvailabilityRule
    opening = rule.weekday * 1440 + rule.start_minute
    rules = sa.select(1).where(rule.tutor_id == User.id, sa.or_(
        span >= WEEK_MINUTES,
        sa.func.mod(opening - low_minute + 2 * WEEK_MINUTES, WEEK_MINUTES) < span,  # hours open inside the window
        sa.func.mod(low_minute - opening + 2 * WEEK_MINUTES, WEEK_MINUTES) < rule.end_minute - rule.start_minute,
    )).exists()

    override = AvailabilityOverride
    minute = sa.literal(timedelta(minutes=1), sa.Interval)
    overrides = sa.select(1).where(
        override.tutor_id == User.id, override.start_minute.is_not(None),
        override.date >= sa.cast(low, sa.Date) - 1, override.date <= sa.cast(high, sa.Date),
        override.date + override.start_minute * minute < high, override.date + override.end_minute * minute > low,
    ).exists()
    return sa.or_(rules, overrides)
