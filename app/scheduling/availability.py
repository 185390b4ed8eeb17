"""Tutor availability: weekly rules, date overrides and scheduling settings (replaced as one document)."""
from itertools import pairwise

import sqlalchemy as sa

from app.common.errors import Invalid, NotFound
from app.common.events import publish
from app.common.time import is_valid_timezone
from app.extensions import db
from app.scheduling.models import (
    AvailabilityOverride,
    AvailabilityRule,
    SchedulingSettings,
)
from app.scheduling.slots import Policy
from app.users.models import User

SETTING_FIELDS = (
    "timezone", "session_lengths", "slot_interval_minutes", "buffer_before_minutes", "buffer_after_minutes",
    "min_notice_minutes", "max_days_ahead", "daily_limit", "weekly_limit", "instant_booking",
    "cancellation_window_hours", "late_cancellation_refund_percent",
)


def get_tutor(tutor_id):
    """An active user with the tutor role, else 404."""
    tutor = db.session.get(User, tutor_id)
    if tutor is None or not tutor.is_active or not tutor.has_role("tutor"):
        raise NotFound("No such tutor.")
    return tutor


def policy_from_row(tutor_id, user_zone, settings_row):
    """The Policy from plain columns: the user's zone and the settings values (None: no settings row, so
    the defaults). ``settings_row`` is (timezone, session_lengths, interval, before, after, notice,
    days_ahead, daily_limit, weekly_limit)."""
    if settings_row is None:
        settings_row = _default_settings_row()
    zone, lengths, interval, before, after, notice, days_ahead, daily, weekly = settings_row
    return Policy(zone=zone or user_zone or "UTC", session_lengths=tuple(lengths), slot_interval=interval,
                  buffer_before=before, buffer_after=after, min_notice=notice, max_days_ahead=days_ahead,
                  daily_limit=daily, weekly_limit=weekly)


_DEFAULT_ROW = []


def _default_settings_row():
    """policy_from_row's ``settings_row`` of the column defaults (made once: an unsaved ORM row costs more than
    the rest of a tutor's slot expansion)."""
    if not _DEFAULT_ROW:
        settings = _default_settings(None)
        _DEFAULT_ROW.append((settings.timezone, tuple(settings.session_lengths), settings.slot_interval_minutes,
                             settings.buffer_before_minutes, settings.buffer_after_minutes,
                             settings.min_notice_minutes, settings.max_days_ahead, settings.daily_limit,
                             settings.weekly_limit))
    return _DEFAULT_ROW[0]


def _default_settings(tutor_id):
    settings = SchedulingSettings(tutor_id=tutor_id)
    for column in SchedulingSettings.__table__.columns:
        if column.default is not None and getattr(settings, column.key) is None:
            default = column.default.arg
            setattr(settings, column.key, default(None) if callable(default) else default)
    return settings


def settings_for(tutor_id):
    """The tutor's settings row, or an unsaved one holding the defaults."""
    return db.session.get(SchedulingSettings, tutor_id) or _default_settings(tutor_id)


def tutor_zone(tutor, settings=None):
    settings = settings or settings_for(tutor.id)
    return settings.timezone or tutor.timezone or "UTC"


def policy_for(tutor, settings=None):
    settings = settings or settings_for(tutor.id)
    return _policy(settings, tutor_zone(tutor, settings))


def _policy(settings, zone):
    return Policy(
        zone=zone,
        session_lengths=tuple(settings.session_lengths),
        slot_interval=settings.slot_interval_minutes,
        buffer_before=settings.buffer_before_minutes,
        buffer_after=settings.buffer_after_minutes,
        min_notice=settings.min_notice_minutes,
        max_days_ahead=settings.max_days_ahead,
        daily_limit=settings.daily_limit,
        weekly_limit=settings.weekly_limit,
    )


def rules_for(tutor_id):
    rows = db.session.execute(
        sa.select(AvailabilityRule.weekday, AvailabilityRule.start_minute, AvailabilityRule.end_minute)
        .where(AvailabilityRule.tutor_id == tutor_id)
        .order_by(AvailabilityRule.weekday, AvailabilityRule.start_minute)
    ).all()
    return [tuple(row) for row in rows]


def overrides_for(tutor_id, first_day=None, last_day=None):
    stmt = sa.select(AvailabilityOverride.date, AvailabilityOverride.start_minute, AvailabilityOverride.end_minute).where(
        AvailabilityOverride.tutor_id == tutor_id
    )
    if first_day is not None:
        stmt = stmt.where(AvailabilityOverride.date >= first_day)
    if last_day is not None:
        stmt = stmt.where(AvailabilityOverride.date <= last_day)
    return [tuple(row) for row in db.session.execute(stmt.order_by(AvailabilityOverride.date, AvailabilityOverride.start_minute))]


def get_availability(tutor):
    settings = settings_for(tutor.id)
    return {
        "tutor_id": tutor.id,
        "timezone": tutor_zone(tutor, settings),
        "rules": [{"weekday": w, "start_minute": s, "end_minute": e} for w, s, e in rules_for(tutor.id)],
        "overrides": [{"date": d, "start_minute": s, "end_minute": e} for d, s, e in overrides_for(tutor.id)],
        "settings": {field: getattr(settings, field) for field in SETTING_FIELDS},
    }


def _check_no_overlaps(intervals, label):
    by_key = {}
    for key, start, end in intervals:
        by_key.setdefault(key, []).append((start, end))
    for key, hours in by_key.items():
        hours.sort()
        for (_s1, e1), (s2, _e2) in pairwise(hours):
            if s2 < e1:
                raise Invalid(f"{label} overlap on {key}.", errors={label.lower(): [f"Overlapping hours on {key}."]})


def put_availability(tutor, document):
    """Replace rules, overrides and settings (the caller's unit of work commits); slot watchers hear about it
    after commit (``availability.changed``)."""
    settings_doc = document.get("settings", {})
    zone = settings_doc.get("timezone")
    if zone is not None and not is_valid_timezone(zone):
        raise Invalid("Unknown time zone.", errors={"settings": {"timezone": [f"Unknown time zone {zone!r}."]}})
    rules = document["rules"]
    replace_overrides = "overrides" in document
    overrides = document.get("overrides") or []
    _check_no_overlaps([(r["weekday"], r["start_minute"], r["end_minute"]) for r in rules], "Rules")
    _check_no_overlaps(
        [(o["date"].isoformat(), o["start_minute"], o["end_minute"]) for o in overrides if o.get("start_minute") is not None],
        "Overrides",
    )
    off_days = {o["date"] for o in overrides if o.get("start_minute") is None}
    if any(o["date"] in off_days and o.get("start_minute") is not None for o in overrides):
        raise Invalid("A date cannot be both a day off and have hours.", errors={"overrides": ["Conflicting entries."]})

    settings = db.session.get(SchedulingSettings, tutor.id)
    if settings is None:
        settings = settings_for(tutor.id)
        db.session.add(settings)
    for field, value in settings_doc.items():
        setattr(settings, field, value)
    db.session.execute(sa.delete(AvailabilityRule).where(AvailabilityRule.tutor_id == tutor.id))
    db.session.add_all(AvailabilityRule(tutor_id=tutor.id, **rule) for rule in rules)
    if replace_overrides:
        db.session.execute(sa.delete(AvailabilityOverride).where(AvailabilityOverride.tutor_id == tutor.id))
    db.session.add_all(
        AvailabilityOverride(tutor_id=tutor.id, date=o["date"], start_minute=o.get("start_minute"),
                             end_minute=o.get("end_minute"))
        for o in overrides
    )
    publish("availability.changed", tutor_id=tutor.id)
    return get_availability(tutor)
