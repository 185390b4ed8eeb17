"""Helpers for scheduling tests: a frozen clock and a tutor with weekly hours."""
from datetime import UTC, datetime

import pytest

from tests.factories import (
    AvailabilityRuleFactory,
    SchedulingSettingsFactory,
    SubjectFactory,
    TutorFactory,
    UserFactory,
)


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def iso(instant):
    return instant.isoformat().replace("+00:00", "Z")


BOOKED_SUBJECTS = ("algebra", "calculus", "mathematics", "physics")


@pytest.fixture(autouse=True)
def _subjects(app):
    """Bookings name a known subject; each test starts from empty tables, so the catalogue is recreated."""
    for slug in BOOKED_SUBJECTS:
        SubjectFactory(slug=slug)


@pytest.fixture
def freeze(monkeypatch):
    """freeze(instant): scheduling code (which reads app.common.time.utcnow) sees that instant as now."""
    import app.common.time as clock

    def set_now(instant):
        monkeypatch.setattr(clock, "utcnow", lambda: instant)
        return instant

    return set_now


def make_tutor(zone="America/New_York", weekdays=range(5), start="09:00", end="17:00", **settings):
    """A tutor with the same hours on the given weekdays and permissive settings unless overridden."""
    tutor = TutorFactory(timezone=zone)
    h1, m1 = map(int, start.split(":"))
    h2, m2 = map(int, end.split(":"))
    for weekday in weekdays:
        AvailabilityRuleFactory(tutor_id=tutor.id, weekday=weekday, start_minute=h1 * 60 + m1, end_minute=h2 * 60 + m2)
    SchedulingSettingsFactory(tutor_id=tutor.id, **settings)
    return tutor


@pytest.fixture
def tutor(app):
    return make_tutor(session_lengths=[30, 60, 90], slot_interval_minutes=30)


@pytest.fixture
def student(app):
    return UserFactory(timezone="Asia/Tokyo", roles=["student"])
