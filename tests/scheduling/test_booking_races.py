"""Booking guards under real concurrency: each request in its own thread, app context and database connection.

The limits (daily, weekly, pending requests per tutor) and the cross-role overlap (a user who both tutors and
studies) have no constraint behind them on PostgreSQL; the one-slot race on SQLite has no exclusion constraint
at all. Each must hold when the requests arrive at once, not only one after another.
"""
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.scheduling.models import ACTIVE_STATES, Booking
from tests.conftest import assert_error
from tests.factories import BookingFactory, UserFactory
from tests.scheduling.conftest import iso, make_tutor, utc

MONDAY_0900_EDT = utc(2026, 3, 9, 13)


def race(app, requests):
    """POST every (url, json, headers) at once, from as many threads; the status codes in request order."""
    barrier = threading.Barrier(len(requests))

    def attempt(request):
        url, payload, headers = request
        with app.app_context():
            client = app.test_client()
            barrier.wait()
            try:
                return client.post(url, json=payload, headers=headers).status_code
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(attempt, requests))


def booking_request(auth, student, tutor, start, duration=60):
    payload = {"tutor_id": tutor.id, "start": iso(start), "duration": duration, "subject": "calculus"}
    return "/api/v1/bookings", payload, auth.headers(student)


def active_bookings(**where):
    stmt = sa.select(Booking).where(Booking.state.in_(ACTIVE_STATES)).filter_by(**where).order_by(Booking.start_at)
    return db.session.scalars(stmt).all()


@pytest.fixture
def march(freeze):
    return freeze(utc(2026, 3, 1))


def test_forty_students_one_slot_one_winner(app, auth, march, tutor):
    """Runs on SQLite (a file shared by the threads' connections) as well as PostgreSQL."""
    students = [UserFactory() for _ in range(40)]
    statuses = race(app, [booking_request(auth, student, tutor, MONDAY_0900_EDT) for student in students])
    assert Counter(statuses) == {201: 1, 409: 39}
    assert len(active_bookings(tutor_id=tutor.id)) == 1


@pytest.mark.postgres
def test_daily_limit_holds_under_concurrent_requests_for_different_slots(app, auth, march):
    tutor = make_tutor(daily_limit=1, session_lengths=[30], slot_interval_minutes=30)
    starts = [MONDAY_0900_EDT + timedelta(minutes=30 * index) for index in range(16)]  # 09:00 … 16:30, one day
    statuses = race(app, [booking_request(auth, UserFactory(), tutor, start, 30) for start in starts])
    assert Counter(statuses) == {201: 1, 409: 15}
    assert len(active_bookings(tutor_id=tutor.id)) == 1


@pytest.mark.postgres
def test_weekly_limit_holds_under_concurrent_requests_over_the_week(app, auth, march):
    tutor = make_tutor(weekly_limit=2)
    starts = [MONDAY_0900_EDT + timedelta(days=day, hours=hour) for day in range(5) for hour in range(2)]
    statuses = race(app, [booking_request(auth, UserFactory(), tutor, start) for start in starts])
    assert Counter(statuses) == {201: 2, 409: 8}
    assert len(active_bookings(tutor_id=tutor.id)) == 2


@pytest.mark.postgres
def test_a_tutor_who_studies_is_never_double_booked_across_roles(app, auth, march):
    """Pairs at once: a student books the dual-role user as tutor, the dual-role user books another tutor, for
    the same hour. Exactly one of each pair wins."""
    dual = make_tutor()
    dual.roles = ["tutor", "student"]
    db.session.commit()
    other_tutor = make_tutor()
    hours = [MONDAY_0900_EDT + timedelta(days=day, hours=hour) for day in range(2) for hour in range(5)]
    requests = []
    for start in hours:
        requests.append(booking_request(auth, UserFactory(), dual, start))
        requests.append(booking_request(auth, dual, other_tutor, start))
    statuses = race(app, requests)
    for index, start in enumerate(hours):
        pair = sorted(statuses[2 * index: 2 * index + 2])
        assert pair == [201, 409], (start, pair)
    mine = [b for b in active_bookings() if dual.id in b.participant_ids()]
    assert len(mine) == len(hours)
    for first, second in zip(mine, mine[1:], strict=False):
        assert first.end_at <= second.start_at


@pytest.mark.postgres
def test_pending_cap_holds_under_concurrent_requests(app, auth, march, tutor, student):
    app.config["BOOKING_MAX_PENDING_PER_TUTOR"] = 2
    try:
        starts = [MONDAY_0900_EDT + timedelta(days=day) for day in range(5)]
        statuses = race(app, [booking_request(auth, student, tutor, start) for start in starts])
    finally:
        app.config["BOOKING_MAX_PENDING_PER_TUTOR"] = 3
    assert Counter(statuses) == {201: 2, 409: 3}
    assert len(active_bookings(tutor_id=tutor.id, student_id=student.id)) == 2


def test_pending_cap_sequential(client, auth, march, tutor, student, monkeypatch):
    monkeypatch.setitem(client.application.config, "BOOKING_MAX_PENDING_PER_TUTOR", 2)

    def book(start, who=student, to=tutor):
        url, payload, headers = booking_request(auth, who, to, start)
        return client.post(url, json=payload, headers=headers)

    first = book(MONDAY_0900_EDT)
    assert first.status_code == 201
    assert book(MONDAY_0900_EDT + timedelta(days=1)).status_code == 201
    body = assert_error(book(MONDAY_0900_EDT + timedelta(days=2)), 409, "pending requests with this tutor")
    assert body["errors"] == {"tutor_id": ["Too many pending requests."]}
    # Another tutor, or another student, is not affected.
    assert book(MONDAY_0900_EDT + timedelta(days=2), to=make_tutor()).status_code == 201
    assert book(MONDAY_0900_EDT + timedelta(days=2), who=UserFactory()).status_code == 201
    # An answered request no longer counts: the tutor accepts one, the student may ask again.
    assert client.post(f"/api/v1/bookings/{first.get_json()['id']}/accept",
                       headers=auth.headers(tutor)).status_code == 200
    assert book(MONDAY_0900_EDT + timedelta(days=3)).status_code == 201
    # Nor do cancelled ones.
    BookingFactory(tutor=tutor, student=student, state="cancelled", start_at=MONDAY_0900_EDT + timedelta(days=7))
    assert_error(book(MONDAY_0900_EDT + timedelta(days=8)), 409, "at most 2")


def test_pending_cap_zero_means_no_cap(client, auth, march, tutor, student, monkeypatch):
    monkeypatch.setitem(client.application.config, "BOOKING_MAX_PENDING_PER_TUTOR", 0)
    for day in range(5):
        url, payload, headers = booking_request(auth, student, tutor, MONDAY_0900_EDT + timedelta(days=day))
        assert client.post(url, json=payload, headers=headers).status_code == 201


def test_instant_bookings_are_not_pending(client, auth, march, student, monkeypatch):
    monkeypatch.setitem(client.application.config, "BOOKING_MAX_PENDING_PER_TUTOR", 1)
    tutor = make_tutor(instant_booking=True)
    for day in range(3):
        url, payload, headers = booking_request(auth, student, tutor, MONDAY_0900_EDT + timedelta(days=day))
        response = client.post(url, json=payload, headers=headers)
        assert response.status_code == 201 and response.get_json()["state"] == "confirmed"
