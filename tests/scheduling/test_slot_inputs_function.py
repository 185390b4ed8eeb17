"""PostgreSQL: the slot_inputs() function (migration 0011) returns the rows of the portable UNION ALL."""
from datetime import UTC, date, datetime, timedelta

import pytest

from app.extensions import db
from app.scheduling import services
from app.scheduling.models import STATES as BOOKING_STATES
from app.scheduling.models import AvailabilityOverride, BusyBlock, SchedulingSettings
from tests.factories import BookingFactory, UserFactory
from tests.scheduling.conftest import make_tutor, utc

pytestmark = pytest.mark.postgres

START = utc(2026, 3, 2, 5)


def _params(tutor_id, start, end, first_day=True):
    return {
        "tutor_id": tutor_id,
        "first_day": (start - timedelta(days=2)).date() if first_day else None,
        "last_day": (end + timedelta(days=1)).date() if first_day else None,
        "busy_start": start - timedelta(days=1), "busy_end": end + timedelta(days=1),
        "limits_start": start - timedelta(days=8), "limits_end": end + timedelta(days=8),
    }


def _normal(rows):
    def value(item):
        return item.astimezone(UTC) if isinstance(item, datetime) else item

    return sorted((tuple(value(item) for item in row) for row in rows), key=repr)


def _both(params):
    function_rows = db.session.execute(services._PG_SLOT_INPUTS, params).all()
    portable_rows = db.session.execute(services._slot_inputs_query(), params).all()
    return _normal(function_rows), _normal(portable_rows)


def _populate(tutor, other_tutor):
    for offset in (-3, 0, 4, 12, 40):
        db.session.add(AvailabilityOverride(tutor_id=tutor.id, date=date(2026, 3, 2) + timedelta(days=offset)))
    db.session.add(AvailabilityOverride(tutor_id=tutor.id, date=date(2026, 3, 5), start_minute=600, end_minute=720))
    db.session.add(AvailabilityOverride(tutor_id=other_tutor.id, date=date(2026, 3, 3)))
    db.session.commit()
    # 13 hours or more apart: the three active states of one offset (5 h apart) never overlap another offset.
    minutes = [-12 * 1440, -8 * 1440 - 30, -1560, -780, 0, 780, 3 * 1440, 9 * 1440, 16 * 1440, 40 * 1440]
    for index, offset in enumerate(minutes):
        for state in BOOKING_STATES:
            start = START + timedelta(minutes=offset + 300 * BOOKING_STATES.index(state))
            before, after = (index % 3) * 20, (index % 4) * 15
            BookingFactory(tutor=tutor, student=UserFactory(), state=state, start_at=start,
                           tutor_range_start=start - timedelta(minutes=before),
                           tutor_range_end=start + timedelta(minutes=60 + after))
            # The tutor as somebody else's student, and another tutor's bookings (never read).
            BookingFactory(tutor=other_tutor, student=tutor, state=state, start_at=start + timedelta(hours=2))
    for offset in (-3, -1, 0, 2, 8, 30):
        start = START + timedelta(days=offset, hours=3)
        db.session.add(BusyBlock(user_id=tutor.id, start_at=start, end_at=start + timedelta(hours=2)))
        db.session.add(BusyBlock(user_id=other_tutor.id, start_at=start, end_at=start + timedelta(hours=2)))
    db.session.commit()


def test_function_rows_equal_the_portable_query_rows():
    tutor = make_tutor(daily_limit=3, weekly_limit=9, buffer_before_minutes=10)
    other_tutor = make_tutor(zone="Asia/Tokyo")
    _populate(tutor, other_tutor)
    for days in (1, 7, 30, 92):
        params = _params(tutor.id, START, START + timedelta(days=days))
        function_rows, portable_rows = _both(params)
        kinds = {row[0] for row in function_rows}
        assert kinds == {"p", "r", "o", "k", "b"}
        assert function_rows == portable_rows
    # busy_intervals / active_starts read without an override window, and with an empty busy window.
    params = _params(tutor.id, START, START + timedelta(days=10), first_day=False)
    assert _both(params)[0] == _both(params)[1]
    params.update(busy_start=params["busy_end"])
    assert _both(params)[0] == _both(params)[1]


def test_function_rows_for_tutors_without_settings_inactive_or_not_tutors():
    plain_tutor = make_tutor()
    db.session.delete(db.session.get(SchedulingSettings, plain_tutor.id))
    inactive = make_tutor()
    inactive.is_active = False
    student = UserFactory()
    db.session.commit()
    for user in (plain_tutor, inactive, student):
        function_rows, portable_rows = _both(_params(user.id, START, START + timedelta(days=7)))
        assert function_rows == portable_rows
    assert [row[0] for row in _both(_params(plain_tutor.id, START, START + timedelta(days=7)))[0]].count("p") == 1
    assert "p" not in [row[0] for row in _both(_params(inactive.id, START, START + timedelta(days=7)))[0]]


def test_slot_inputs_hands_back_utc_instants():
    tutor = make_tutor()
    BookingFactory(tutor=tutor, start_at=START + timedelta(days=1))
    db.session.add(BusyBlock(user_id=tutor.id, start_at=START + timedelta(days=2),
                             end_at=START + timedelta(days=2, hours=1)))
    db.session.commit()
    params = _params(tutor.id, START, START + timedelta(days=7))
    _policy, _rules, _overrides, busy, starts = services.slot_inputs(*params.values())
    assert len(busy) == 2 and len(starts) == 1
    assert all(instant.tzinfo is UTC for interval in busy for instant in interval)
    assert all(instant.tzinfo is UTC for instant in starts)
