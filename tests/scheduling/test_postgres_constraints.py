"""PostgreSQL's exclusion constraints decide double-booking races; every path answers 409, never 500."""
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.scheduling import validation
from app.scheduling.models import Booking
from tests.conftest import assert_error
from tests.factories import BookingFactory, UserFactory
from tests.scheduling.conftest import iso, utc

pytestmark = pytest.mark.postgres

MONDAY = utc(2026, 3, 9, 13)


def _insert(tutor, student, start, state="confirmed", before=0, after=0):
    end = start + timedelta(hours=1)
    db.session.add(Booking(tutor_id=tutor.id, student_id=student.id, subject="x", state=state, start_at=start,
                           end_at=end, duration_minutes=60, tutor_range_start=start - timedelta(minutes=before),
                           tutor_range_end=end + timedelta(minutes=after)))
    db.session.commit()


def test_constraint_rejects_overlapping_active_bookings(tutor, student):
    _insert(tutor, student, MONDAY, after=15)
    with pytest.raises(IntegrityError) as raised:
        _insert(tutor, UserFactory(), MONDAY + timedelta(minutes=70))  # inside the 15-minute buffer
    assert raised.value.orig.sqlstate == "23P01"
    db.session.rollback()
    with pytest.raises(IntegrityError):
        _insert(make_other_tutor(), student, MONDAY + timedelta(minutes=30))  # the student is busy
    db.session.rollback()
    _insert(tutor, UserFactory(), MONDAY + timedelta(minutes=75))  # after the buffer: fine
    _insert(tutor, UserFactory(), MONDAY, state="cancelled")  # inactive rows never conflict


def make_other_tutor():
    from tests.scheduling.conftest import make_tutor

    return make_tutor()


def test_constraint_exists_with_buffered_range(app):
    rows = db.session.execute(sa.text(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'bookings'::regclass "
        "AND contype = 'x' ORDER BY conname"
    )).all()
    assert [name for name, _ in rows] == ["ex_bookings_student_no_overlap", "ex_bookings_tutor_no_overlap"]
    assert "tutor_range_start" in rows[1][1] and "requested" in rows[1][1]


@pytest.fixture
def skip_app_check(monkeypatch):
    """Turn the application-level check off so the database constraint is what answers."""
    monkeypatch.setattr(validation, "assert_no_overlap", lambda *args, **kwargs: None)


def test_every_path_maps_the_violation_to_409(client, auth, freeze, tutor, student, skip_app_check):
    """Request, reschedule, admin reschedule and admin revive. (Accept cannot collide: a pending request
    already holds its slot under the constraint, which is the point of counting requests as active.)"""
    freeze(utc(2026, 3, 1))
    admin = UserFactory(roles=["admin"])
    BookingFactory(tutor=tutor, start_at=MONDAY)
    # request
    response = client.post("/api/v1/bookings", json={"tutor_id": tutor.id, "start": iso(MONDAY), "duration": 60,
                                                      "subject": "mathematics"}, headers=auth.headers(student))
    assert_error(response, 409, "no longer available")
    # accepting a proposal onto a taken time, and admin reschedule
    mine = BookingFactory(tutor=tutor, student=student, start_at=MONDAY + timedelta(hours=2))
    mine.proposed_start_at, mine.proposed_by_id = MONDAY, tutor.id
    db.session.commit()
    assert_error(client.post(f"/api/v1/bookings/{mine.id}/reschedule/accept", headers=auth.headers(student)), 409,
                 "no longer available")
    assert_error(client.post(f"/api/v1/admin/bookings/{mine.id}/reschedule", json={"start": iso(MONDAY)},
                             headers=auth.headers(admin)), 409, "no longer available")
    # admin override reviving a cancelled booking onto a taken slot
    old = BookingFactory(tutor=tutor, start_at=MONDAY, state="cancelled")
    assert_error(client.post(f"/api/v1/admin/bookings/{old.id}/state", json={"state": "confirmed", "note": "x"},
                             headers=auth.headers(admin)), 409, "no longer available")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking).where(
        Booking.tutor_id == tutor.id, Booking.state.in_(("requested", "confirmed")))) == 2


def test_concurrent_conflicting_requests_have_one_winner(app, auth, freeze, tutor):
    freeze(utc(2026, 3, 1))
    students = [UserFactory() for _ in range(8)]
    headers = [auth.headers(student) for student in students]
    payload = {"tutor_id": tutor.id, "start": iso(MONDAY), "duration": 60, "subject": "mathematics"}
    barrier = threading.Barrier(len(students))

    def attempt(index):
        with app.app_context():
            client = app.test_client()
            barrier.wait()
            status = client.post("/api/v1/bookings", json=payload, headers=headers[index]).status_code
            db.session.remove()
            return status

    with ThreadPoolExecutor(max_workers=len(students)) as pool:
        statuses = sorted(pool.map(attempt, range(len(students))))
    assert statuses == [201] + [409] * (len(students) - 1)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 1
