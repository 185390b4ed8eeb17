"""Analytics' rules: the activity log, the nightly rollups, and the admin reports (rollups + today live).

Activity: ``record_activity(user_id, kind)`` upserts one row per user, UTC day and kind (subscribers call it
after logins, token refreshes, messages and booking changes). Rollups: ``rollup(first, last)`` replaces the
daily figures of those UTC days (``queries.day_figures``) and marks them rolled up, so running a day twice leaves
the same rows. Reports read the rollups for the rolled-up days before today and compute the other days (today's
partial day, any day not rolled up yet) live from the sources, with the same code.
"""
from datetime import UTC, timedelta

import pandas as pd
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from app.analytics import queries, reports
from app.analytics.models import ACTIVITY_KINDS, ActivityDay, DailyMetric, RollupDay
from app.common import time as clock
from app.common.errors import Invalid
from app.extensions import db

REPORTS = reports.REPORTS
ARMS = reports.ARMS  # matching's A/B arms, by which the matching report splits its match funnel
GROUPS = tuple(reports.GROUPS)
DEFAULT_DAYS = 30
BACKFILL_CHUNK_DAYS = 31


def record_activity(user_id, kind, at=None):
    """Count one ``kind`` of activity of the user on ``at``'s UTC day (one row per user, day and kind)."""
    if kind not in ACTIVITY_KINDS or user_id is None:
        return
    day = (at or clock.utcnow()).astimezone(UTC).date()
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(ActivityDay).values(user_id=int(user_id), day=day, kind=kind, count=1)
    statement = statement.on_conflict_do_update(index_elements=["user_id", "day", "kind"],
                                                set_={"count": ActivityDay.count + 1})
    db.session.execute(statement)


def record_activity_days(rows):
    """Bulk upsert of ``(user_id, day, kind, count)`` rows (the demo seed, the bench): counts replace."""
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    rows = list(rows)
    for start in range(0, len(rows), 1000):  # SQLite binds at most 32766 parameters per statement
        values = [{"user_id": u, "day": d, "kind": k, "count": c} for u, d, k, c in rows[start:start + 1000]]
        statement = dialect.insert(ActivityDay).values(values)
        statement = statement.on_conflict_do_update(index_elements=["user_id", "day", "kind"],
                                                    set_={"count": statement.excluded.count})
        db.session.execute(statement)


# --- rollups -------------------------------------------------------------------------------------------------

def rollup(first, last=None, now=None):
    """Replace the daily figures of UTC days ``first`` … ``last`` (default: ``first``); days from today on are
    refused (they are not over). Returns the number of days rolled up. The caller's unit of work commits."""
    last = last or first
    today = (now or clock.utcnow()).date()
    if last >= today:
        raise Invalid("Only days that are over can be rolled up.", errors={"to": [f"Must be before {today}."]})
    if last < first:
        raise Invalid("The period ends before it starts.", errors={"to": ["Must not be before from."]})
    figures = queries.day_figures(first, last)
    db.session.execute(sa.delete(DailyMetric).where(DailyMetric.day >= first, DailyMetric.day <= last))
    db.session.execute(sa.delete(RollupDay).where(RollupDay.day >= first, RollupDay.day <= last))
    figures = figures[figures["value"] != 0]
    if len(figures):
        db.session.execute(sa.insert(DailyMetric), [
            {"day": r.day, "metric": r.metric, "subject": r.subject, "currency": r.currency, "value": int(r.value)}
            for r in figures.itertuples(index=False)])
    stamp = clock.utcnow()
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    db.session.execute(sa.insert(RollupDay), [{"day": day, "rolled_up_at": stamp} for day in days])
    return len(days)


def rollup_due(now=None, lookback_days=7):
    """The nightly job's work: each of the last ``lookback_days`` UTC days before today that is not rolled up yet
    (normally just yesterday, once it is over). Running it again rolls up nothing. Returns the days rolled up."""
    today = (now or clock.utcnow()).date()
    first = today - timedelta(days=lookback_days)
    done = rolled_up_days(first, today - timedelta(days=1))
    due = [day for day in (first + timedelta(days=n) for n in range(lookback_days)) if day not in done]
    for day in due:
        rollup(day, now=now)
    return due


def backfill(first, last=None, now=None):
    """Rebuild the rollups of ``first`` … ``last`` (default: yesterday), a month per statement batch."""
    today = (now or clock.utcnow()).date()
    last = last or today - timedelta(days=1)
    if first > last:
        raise Invalid("Nothing to backfill: from must be before today.", errors={"from": [f"Must be before {today}."]})
    done, start = 0, first
    while start <= last:
        end = min(start + timedelta(days=BACKFILL_CHUNK_DAYS - 1), last)
        done += rollup(start, end, now=now)
        start = end + timedelta(days=1)
    return done


def rolled_up_days(first, last):
    return set(db.session.scalars(sa.select(RollupDay.day).where(RollupDay.day >= first, RollupDay.day <= last)))


def stored_figures(first, last, metrics, by_subject=True, subject=None):
    """The rolled-up figures of first … last (only ``subject`` and the platform-wide rows when given); with
    ``by_subject`` False the subjects are summed in SQL (subject '')."""
    m = DailyMetric
    where = [m.day >= first, m.day <= last, m.metric.in_(metrics)]
    if subject:
        where.append(m.subject.in_([subject, ""]))
    if by_subject:
        statement = sa.select(m.day, m.metric, m.subject, m.currency, m.value).where(*where)
    else:
        statement = (sa.select(m.day, m.metric, sa.literal("").label("subject"), m.currency, sa.func.sum(m.value))
                     .where(*where).group_by(m.day, m.metric, m.currency))
    rows = db.session.execute(statement).all()
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in queries.COLUMNS]
    frame = pd.DataFrame(dict(zip(queries.COLUMNS, columns, strict=True)))
    frame["value"] = frame["value"].astype("int64")
    return frame


# --- reports -------------------------------------------------------------------------------------------------

def report_window(since=None, until=None, now=None):
    """Whole UTC days: ``first`` = from's day, ``last`` = the day holding the instant before ``to``. ``to`` defaults
    to now, ``from`` to 30 days before it; aware timestamps only, ``to`` after ``from``, at most
    ANALYTICS_MAX_DAYS days (else 422)."""
    since, until = clock.report_period(since, until, DEFAULT_DAYS, current_app.config["ANALYTICS_MAX_DAYS"],
                                       now=now)
    first = since.astimezone(UTC).date()
    last = (until - timedelta(microseconds=1)).astimezone(UTC).date()
    return first, last


def _live_ranges(first, last, rolled):
    """The runs of consecutive days in first … last that are not rolled up."""
    ranges, start, day = [], None, first
    while day <= last:
        if day in rolled:
            if start is not None:
                ranges.append((start, day - timedelta(days=1)))
                start = None
        elif start is None:
            start = day
        day += timedelta(days=1)
    if start is not None:
        ranges.append((start, last))
    return ranges


def daily_figures(first, last, metrics, now=None, sources=tuple(queries.SOURCES), by_subject=True, subject=None):
    """The figures of first … last: the rollups of rolled-up past days, the rest (today included) live."""
    today = (now or clock.utcnow()).date()
    last_known = min(last, today)
    if last_known < first:
        return pd.DataFrame(columns=queries.COLUMNS)
    rolled = {day for day in rolled_up_days(first, last_known) if day < today}
    parts = [stored_figures(first, last_known, metrics, by_subject, subject)] if rolled else []
    if parts:
        parts[0] = parts[0][parts[0]["day"].isin(rolled)]
    for start, end in _live_ranges(first, last_known, rolled):
        live = queries.day_figures(start, end, sources)
        parts.append(live[live["metric"].isin(metrics)])
    parts = [part for part in parts if len(part)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=queries.COLUMNS)


def report(name, since=None, until=None, group="day", subject=None, now=None):
    """The admin report ``name`` (engagement, matching, marketplace, quality) over whole UTC days."""
    first, last = report_window(since, until, now)
    spec = reports.SPECS[name]
    figures = daily_figures(first, last, spec.metrics, now=now, sources=spec.sources,
                            by_subject=bool(spec.keys), subject=subject)
    return reports.build(name, figures, first, last, group, subject, queries.instant(first),
                         queries.instant(last + timedelta(days=1)))


def subjects(since=None, until=None, now=None):
    """The subjects with bookings in the window (the portal's filter)."""
    report_ = report("matching", since, until, "month", now=now)
    return sorted(set(report_.totals["subject"])) if "subject" in report_.totals else []


def active_days(user_ids, days=30, now=None):
    """{user_id: UTC days with any activity among the last ``days`` (today included)} for the given users."""
    user_ids = [int(user_id) for user_id in user_ids]
    if not user_ids:
        return {}
    today = (now or clock.utcnow()).date()
    statement = (sa.select(ActivityDay.user_id, sa.func.count(sa.distinct(ActivityDay.day)))
                 .where(ActivityDay.user_id.in_(user_ids), ActivityDay.day > today - timedelta(days=days))
                 .group_by(ActivityDay.user_id))
    counts = dict(db.session.execute(statement).all())
    return {user_id: counts.get(user_id, 0) for user_id in user_ids}
