"""UTC storage and IANA zones: every datetime in the system is timezone-aware."""
from datetime import UTC, datetime
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
