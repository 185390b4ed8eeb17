"""GET /tutors?available_start&available_end lists exactly the tutors GET /tutors/{id}/slots shows a slot for."""
import json
import random
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.scheduling.models import AvailabilityOverride
from tests.conftest import assert_error
from tests.factories import (
    AvailabilityRuleFactory,
    BookingFactory,
    BusyBlockFactory,
    SchedulingSettingsFactory,
    SubjectFactory,
    TutorFactory,
    TutorProfileFactory,
    UserFactory,
)

ZONES = ["America/New_York", "Europe/London", "Europe/Berlin", "Australia/Sydney", "Asia/Kolkata", "UTC",
         "Pacific/Chatham", "America/Sao_Paulo", "Asia/Tokyo", "Antarctica/Troll", "America/Los_Angeles",
         "Pacific/Kiritimati"]
NOW = datetime(2026, 2, 20, 9, 17, tzinfo=UTC)
# Days with an offset change in some of ZONES (US, EU, Troll, Chatham/Sydney), plus plain days.
AROUND = [datetime(2026, 3, 8, tzinfo=UTC), datetime(2026, 3, 29, tzinfo=UTC), datetime(2026, 4, 5, tzinfo=UTC),
          datetime(2026, 2, 26, tzinfo=UTC), datetime(2026, 3, 15, tzinfo=UTC), datetime(2026, 4, 20, tzinfo=UTC)]


@pytest.fixture
def freeze(monkeypatch):
    """freeze(instant): scheduling and search (which read app.common.time.utcnow) see that instant as now."""
    import app.common.time as clock

    def set_now(instant):
        monkeypatch.setattr(clock, "utcnow", lambda: instant)
        return instant

    return set_now


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def iso(instant):
    return instant.isoformat().replace("+00:00", "Z")


def _random_tutor(rng, index):
    user = TutorFactory(timezone=rng.choice(ZONES), full_name=f"Tutor {index:02d}")
    TutorProfileFactory(user=user)
    for weekday in rng.sample(range(7), rng.randint(0, 5)):
        start = rng.randrange(0, 20 * 60, 30)
        AvailabilityRuleFactory(tutor_id=user.id, weekday=weekday, start_minute=start,
                                end_minute=min(1440, start + rng.randrange(60, 10 * 60, 30)))
    day = NOW.date() + timedelta(days=rng.randint(0, 50))
    for _ in range(rng.randint(0, 3)):
        day += timedelta(days=rng.randint(1, 9))
        hours = rng.choice([None, (rng.randrange(0, 600, 30), rng.randrange(660, 1440, 30))])
        db.session.add(AvailabilityOverride(tutor_id=user.id, date=day, start_minute=hours and hours[0],
                                            end_minute=hours and hours[1]))
    db.session.commit()
    if rng.random() < 0.8:
        SchedulingSettingsFactory(
            tutor_id=user.id, timezone=rng.choice([None, None, rng.choice(ZONES)]),
            session_lengths=rng.sample([30, 45, 60, 90, 120], rng.randint(1, 3)),
            slot_interval_minutes=rng.choice([15, 30, 60]), buffer_before_minutes=rng.choice([0, 0, 15]),
            buffer_after_minutes=rng.choice([0, 10, 30]), min_notice_minutes=rng.choice([0, 720, 2880, 20160]),
            max_days_ahead=rng.choice([7, 30, 60, 365]), daily_limit=rng.choice([None, None, 1, 3]),
            weekly_limit=rng.choice([None, None, 2]))
    student = UserFactory()
    for _ in range(rng.randint(0, 6)):
        start = rng.choice(AROUND) + timedelta(minutes=rng.randrange(-3 * 1440, 3 * 1440, 15))
        BookingFactory(tutor=user, student=student, start_at=start, state=rng.choice(["requested", "confirmed",
                                                                                       "cancelled"]))
        student = UserFactory()
    for _ in range(rng.randint(0, 3)):
        start = rng.choice(AROUND) + timedelta(minutes=rng.randrange(-3 * 1440, 3 * 1440, 15))
        BusyBlockFactory(user_id=user.id, start_at=start, end_at=start + timedelta(minutes=rng.randrange(30, 3000, 30)))
    return user.id


def _random_window(rng):
    start = rng.choice(AROUND + [NOW]) + timedelta(minutes=rng.randrange(-2 * 1440, 2 * 1440, rng.choice([1, 15, 30])))
    length = timedelta(minutes=rng.choice([15, 30, 60, 90, 180, 600, 1440, 3 * 1440, 9 * 1440]))
    zone = rng.choice(["+00:00", "-05:00", "+09:30", "+13:45"])
    hours, minutes = int(zone[1:3]), int(zone[4:])
    offset = timedelta(hours=hours, minutes=minutes) * (-1 if zone[0] == "-" else 1)
    local = lambda instant: (instant + offset).replace(tzinfo=None).isoformat() + zone  # noqa: E731
    return start, start + length, local(start), local(start + length)


def _slot_holders(client, auth, viewer, tutor_ids, start, end, duration):
    holders = []
    for tutor_id in tutor_ids:
        query = {"start": iso(start), "end": iso(end), **({"duration": duration} if duration else {})}
        response = client.get(f"/api/v1/tutors/{tutor_id}/slots", query_string=query, headers=auth.headers(viewer))
        if response.status_code == 200 and response.get_json()["slots"]:
            holders.append(tutor_id)
        else:
            assert response.status_code in (200, 422), response.get_json()
    return holders


def test_the_filter_agrees_with_slots_on_random_tutors_windows_and_zones(client, auth, freeze):
    freeze(NOW)
    rng = random.Random(14)
    tutor_ids = [_random_tutor(rng, index) for index in range(14)]
    viewer = UserFactory()
    nonempty = 0
    for _ in range(70):
        start, end, local_start, local_end = _random_window(rng)
        duration = rng.choice([None, None, None, 30, 60, 90])
        query = {"available_start": local_start, "available_end": local_end, "page_size": 100, "sort": "rating"}
        if duration:
            query["duration"] = duration
        response = client.get("/api/v1/tutors", query_string=query)
        assert response.status_code == 200, response.get_json()
        listed = sorted(card["id"] for card in response.get_json())
        expected = _slot_holders(client, auth, viewer, tutor_ids, start, end, duration)
        assert listed == sorted(expected), (local_start, local_end, duration)
        assert json.loads(response.headers["X-Pagination"])["total"] == len(expected)
        nonempty += bool(expected)
    assert 10 < nonempty < 65  # the windows are neither all empty nor all full


def _weekday_tutor(zone, name, **settings):
    user = TutorFactory(timezone=zone, full_name=name)
    TutorProfileFactory(user=user)
    for weekday in range(5):
        AvailabilityRuleFactory(tutor_id=user.id, weekday=weekday, start_minute=9 * 60, end_minute=17 * 60)
    SchedulingSettingsFactory(tutor_id=user.id, **{"min_notice_minutes": 720, "max_days_ahead": 60, **settings})
    return user


def names(client, query):
    response = client.get("/api/v1/tutors", query_string=query)
    assert response.status_code == 200, response.get_json()
    return [card["full_name"] for card in response.get_json()]


def test_weekday_hours_notice_horizon_and_overrides_decide(client, freeze):
    """The reported case: Sunday 13 December 10:00-11:00Z lists nobody who works weekdays only."""
    freeze(utc(2026, 12, 7, 2))
    ana = _weekday_tutor("Europe/London", "Ana")
    _weekday_tutor("Asia/Tokyo", "Ben")
    SubjectFactory(slug="mathematics")
    sunday = {"available_start": "2026-12-13T10:00:00Z", "available_end": "2026-12-13T11:00:00Z"}
    assert names(client, sunday) == []
    monday = {"available_start": "2026-12-14T10:00:00Z", "available_end": "2026-12-14T11:00:00Z"}
    assert names(client, monday) == ["Ana"]  # 10:00 London; 19:00 in Tokyo is outside Ben's hours
    db.session.add(AvailabilityOverride(tutor_id=ana.id, date=datetime(2026, 12, 14).date()))
    db.session.commit()
    assert names(client, monday) == []  # day off
    too_soon = {"available_start": "2026-12-07T09:00:00Z", "available_end": "2026-12-07T12:00:00Z"}
    assert names(client, too_soon) == []  # within the 12-hour notice
    too_far = {"available_start": "2027-03-01T10:00:00Z", "available_end": "2027-03-01T11:00:00Z"}
    assert names(client, too_far) == []  # beyond the 60-day horizon


def test_duration_must_be_offered_and_fit(client, freeze):
    freeze(utc(2026, 12, 7, 2))
    _weekday_tutor("UTC", "Short", session_lengths=[30])
    _weekday_tutor("UTC", "Long", session_lengths=[90, 30])
    window = {"available_start": "2026-12-14T16:00:00Z", "available_end": "2026-12-14T16:45:00Z"}
    assert sorted(names(client, window)) == ["Long", "Short"]  # each one's shortest: 30 minutes
    assert names(client, {**window, "duration": 90}) == []  # 16:00 + 90 min passes 17:00
    assert names(client, {**window, "available_start": "2026-12-14T15:00:00Z", "duration": 90}) == ["Long"]


def test_pages_and_total_with_the_window(client, freeze, monkeypatch):
    from app.matching import search

    monkeypatch.setattr(search, "AVAILABLE_CHUNK", 1)  # several chunks for a handful of tutors
    monkeypatch.setattr(search, "AVAILABLE_SLACK", 0)
    freeze(utc(2026, 12, 7, 2))
    for index in range(5):
        _weekday_tutor("UTC", f"Open {index}")
        closed = _weekday_tutor("UTC", f"Closed {index}")  # passes the prefilter, not the expansion: a day off
        db.session.add(AvailabilityOverride(tutor_id=closed.id, date=datetime(2026, 12, 14).date()))
    db.session.commit()
    window = {"available_start": "2026-12-14T10:00:00Z", "available_end": "2026-12-14T11:00:00Z", "page_size": 2}
    first = client.get("/api/v1/tutors", query_string=window)
    assert [card["full_name"] for card in first.get_json()] == ["Open 0", "Open 1"]
    assert json.loads(first.headers["X-Pagination"])["total"] == 3  # one past the page: a lower bound
    last = client.get("/api/v1/tutors", query_string={**window, "page": 3})
    assert [card["full_name"] for card in last.get_json()] == ["Open 4"]
    meta = json.loads(last.headers["X-Pagination"])
    assert meta["total"] == 5 and "next_page" not in meta


@pytest.mark.parametrize("query,field", [
    ({"available_start": "2026-12-14T10:00:00Z", "available_end": "2027-03-16T10:00:01Z"}, "available_end"),
    ({"duration": 60}, "duration"),
    ({"available_start": "2026-12-14T10:00:00Z", "available_end": "2026-12-14T11:00:00Z", "duration": 5},
     "duration"),
    ({"available_start": "2026-12-14T10:00:00Z", "available_end": "2026-12-14T11:00:00Z", "duration": 2 ** 40},
     "duration"),
])
def test_bad_window_is_422(client, query, field):
    body = assert_error(client.get("/api/v1/tutors", query_string=query), 422)
    assert field in json.dumps(body["errors"])


@pytest.mark.postgres
def test_postgres_prefilter_reads_each_tutors_local_hours(app, freeze):
    """The SQL prefilter (a superset of the answer) already leaves out tutors whose local hours miss the window,
    so search expands the slots of plausible tutors only."""
    from app.scheduling import queries, services
    from app.tutors.models import TutorProfile

    freeze(utc(2026, 12, 7, 2))
    ana = _weekday_tutor("Europe/London", "Ana")
    _weekday_tutor("Asia/Tokyo", "Ben")
    _weekday_tutor("America/Los_Angeles", "Cy")
    booked_out = _weekday_tutor("Europe/London", "Dee", min_notice_minutes=20160)  # two weeks' notice
    queries.forget_zones()  # the zones in use are read again (a process caches them for a few minutes)

    def passing(start, end):
        stmt = sa.select(TutorProfile.user_id).where(services.may_have_slots(TutorProfile.user_id))
        return set(db.session.scalars(stmt, services.may_have_slots_params(start, end)))

    assert passing(utc(2026, 12, 13, 10), utc(2026, 12, 13, 11)) == set()  # Sunday everywhere
    assert passing(utc(2026, 12, 14, 12), utc(2026, 12, 14, 13)) == {ana.id}  # Tokyo 21:00, Los Angeles 04:00
    assert booked_out.id in passing(utc(2026, 12, 22, 12), utc(2026, 12, 22, 13))


def test_window_with_a_selective_filter_and_its_order(client, freeze):
    """Subject, text or distance searches sort their matches first, then test the window in that order."""
    from tests.factories import TutorSubjectFactory

    freeze(utc(2026, 12, 7, 2))
    maths = SubjectFactory(slug="mathematics")
    for name, rating in (("Low", 3.0), ("High", 4.9), ("Mid", 4.0), ("Away", 5.0)):
        user = _weekday_tutor("Europe/London", name)
        profile = db.session.get(TutorProfileFactory._meta.model, user.id)
        profile.rating_bayes = rating
        TutorSubjectFactory(profile=profile, subject=maths, level="secondary")
    _weekday_tutor("Europe/London", "Other subject")
    away = db.session.scalar(sa.select(TutorFactory._meta.model.id).where(TutorFactory._meta.model.full_name == "Away"))
    BusyBlockFactory(user_id=away, start_at=utc(2026, 12, 14), end_at=utc(2026, 12, 15))
    db.session.commit()
    window = {"available_start": "2026-12-14T10:00:00Z", "available_end": "2026-12-14T11:00:00Z"}
    assert names(client, {**window, "subject": "mathematics", "level": "secondary"}) == ["High", "Mid", "Low"]
    assert names(client, {**window, "subject": "mathematics", "sort": "rating"}) == ["High", "Mid", "Low"]
    assert sorted(names(client, window)) == ["High", "Low", "Mid", "Other subject"]
