"""UTC storage and IANA zones: every datetime in the system is timezone-aware."""
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import sqlalchemy as sa
from marshmallow import ValidationError


def utcnow():
    return datetime.now(UTC)


class UTCDateTime(sa.TypeDecorator):
    """DateTime(timezone=True) that always hands back aware UTC values, SQLite included."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def is_valid_timezone(name):
    if not name or name not in _zone_names():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


_ZONES = None


def _zone_names():
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones())
    return _ZONES


def validate_timezone(name):
    """marshmallow validator for IANA zone names."""
    if not is_valid_timezone(name):
        raise ValidationError(f"Unknown time zone {name!r}; use an IANA name such as 'Europe/Paris'.")


def report_period(since, until, default_days, max_days, noun="A report", now=None):
    """The ``[from, to)`` of a dashboard or report: ``to`` defaults to now, ``from`` to ``default_days`` before
    ``to``; both aware (a naive one is 422 on its field), ``to`` after ``from`` and at most ``max_days`` later
    (else 422 on ``to``). The payments reports, progress dashboards and admin analytics share it."""
    from app.common.errors import Invalid

    for field, value in (("from", since), ("to", until)):
        if value is not None and value.tzinfo is None:
            raise Invalid("Timestamps need a UTC offset.", errors={field: ["Not a valid aware datetime."]})
    until = until or (now or utcnow())
    since = since or until - timedelta(days=default_days)
    if until <= since:
        raise Invalid("The period ends before it starts.", errors={"to": ["Must be after from."]})
    if until - since > timedelta(days=max_days):
        raise Invalid(f"{noun} covers at most {max_days} days.",
                      errors={"to": [f"Must be at most {max_days} days after from."]})
    return since, until
