"""Booking events: every state change publishes its event after commit, with the one payload shape; refused or
rolled-back changes publish nothing; the services never commit on their own."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.common import events
from app.common.transactions import unit_of_work
from app.extensions import db
from app.scheduling import services
from app.scheduling.models import Booking
from app.users.models import User
from tests.conftest import assert_error
from tests.factories import BookingFactory, UserFactory
from tests.scheduling.conftest import iso, make_tutor, utc
from tests.scheduling.helpers import messages

MONDAY = utc(2026, 3, 9, 13)
TUESDAY = utc(2026, 3, 10, 15)


@pytest.fixture
def published(monkeypatch):
    """The events delivered after each committed unit of work, as (name, payload), booking events only."""
    seen = []
    deliver = events.deliver

    def recording(pending):
        seen.extend((name, payload) for name, payload in pending if name.startswith("booking."))
        deliver(pending)

    monkeypatch.setattr(events, "deliver", recording)
    return seen


def post(client, auth, user, url, json=None):
    return client.post(f"/api/v1{url}", json=json, headers=auth.headers(user))


def payload(booking_id, tutor, student, start=MONDAY, **extra):
    return {"booking_id": booking_id, "student_id": student.id, "tutor_id": tutor.id,
            "start_at": start.isoformat(), "end_at": (start + timedelta(hours=1)).isoformat(),
            "duration_minutes": 60, "subject": "calculus", "subject_name": "Calculus", **extra}


def test_request_then_accept(client, auth, freeze, tutor, student, published):
    freeze(utc(2026, 3, 1))
    response = post(client, auth, student, "/bookings", {"tutor_id": tutor.id, "start": iso(MONDAY), "duration": 60,
                                                         "subject": "calculus"})
    booking_id = response.get_json()["id"]
    assert published == [("booking.requested", payload(booking_id, tutor, student, state="requested",
                                                       previous_state=None, actor_id=student.id, by_admin=False))]
    assert post(client, auth, tutor, f"/bookings/{booking_id}/accept").status_code == 200
    assert published[1] == ("booking.confirmed", payload(booking_id, tutor, student, state="confirmed",
                                                         previous_state="requested", actor_id=tutor.id,
                                                         by_admin=False))


def test_instant_booking_is_confirmed_at_once(client, auth, freeze, student, published):
    freeze(utc(2026, 3, 1))
    tutor = make_tutor(instant_booking=True)
    booking_id = post(client, auth, student, "/bookings", {"tutor_id": tutor.id, "start": iso(MONDAY),
                                                           "duration": 60, "subject": "calculus"}).get_json()["id"]
    assert published == [("booking.confirmed", payload(booking_id, tutor, student, state="confirmed",
                                                       previous_state=None, actor_id=student.id, by_admin=False))]


def test_reject_and_cancel(client, auth, freeze, tutor, student, published):
    freeze(utc(2026, 3, 1))
    request = BookingFactory(tutor=tutor, student=student, start_at=TUESDAY, state="requested", subject="calculus")
    post(client, auth, tutor, f"/bookings/{request.id}/reject", {"reason": "Away"})
    assert published[-1] == ("booking.rejected", payload(request.id, tutor, student, TUESDAY, state="rejected",
                                                         previous_state="requested", actor_id=tutor.id,
                                                         by_admin=False))
    confirmed = BookingFactory(tutor=tutor, student=student, start_at=MONDAY, subject="calculus")
    freeze(MONDAY - timedelta(hours=10))  # inside the 24-hour window
    post(client, auth, student, f"/bookings/{confirmed.id}/cancel", {"reason": "Sick"})
    assert published[-1] == ("booking.cancelled", payload(
        confirmed.id, tutor, student, state="cancelled", previous_state="confirmed", actor_id=student.id,
        by_admin=False, cancelled_by="student", refund_percent=50, late=True))


def test_reschedule_carries_old_and_new_times(client, auth, freeze, student, published):
    freeze(utc(2026, 3, 1))
    tutor = make_tutor(instant_booking=True, cancellation_window_hours=24)
    booking = BookingFactory(tutor=tutor, student=student, start_at=MONDAY, subject="calculus")
    post(client, auth, student, f"/bookings/{booking.id}/reschedule", {"start": iso(TUESDAY)})
    assert published == [("booking.rescheduled", payload(
        booking.id, tutor, student, TUESDAY, state="confirmed", previous_state="confirmed", actor_id=student.id,
        by_admin=False, old_start_at=MONDAY.isoformat(), old_end_at=(MONDAY + timedelta(hours=1)).isoformat()))]


def test_accepted_proposal_on_a_request_moves_then_confirms(client, auth, freeze, tutor, student, published):
    freeze(utc(2026, 3, 1))
    booking = BookingFactory(tutor=tutor, student=student, start_at=MONDAY, state="requested", subject="calculus")
    post(client, auth, tutor, f"/bookings/{booking.id}/reschedule", {"start": iso(TUESDAY)})
    assert published == []  # a proposal changes nothing yet
    post(client, auth, student, f"/bookings/{booking.id}/reschedule/accept")
    assert [name for name, _payload in published] == ["booking.rescheduled", "booking.confirmed"]
    assert published[1][1] == payload(booking.id, tutor, student, TUESDAY, state="confirmed",
                                      previous_state="requested", actor_id=student.id, by_admin=False)


def test_lifecycle_marks(client, auth, freeze, tutor, student, published):
    freeze(utc(2026, 3, 1))
    session = BookingFactory(tutor=tutor, student=student, start_at=MONDAY)
    absent = BookingFactory(tutor=tutor, student=UserFactory(), start_at=TUESDAY)
    freeze(MONDAY - timedelta(minutes=5))
    post(client, auth, tutor, f"/bookings/{session.id}/start")
    freeze(MONDAY + timedelta(hours=1))
    post(client, auth, tutor, f"/bookings/{session.id}/complete")
    freeze(TUESDAY + timedelta(minutes=20))
    post(client, auth, tutor, f"/bookings/{absent.id}/no-show")
    assert [(name, body["booking_id"], body["previous_state"], body["state"]) for name, body in published] == [
        ("booking.started", session.id, "confirmed", "in_progress"),
        ("booking.completed", session.id, "in_progress", "completed"),
        ("booking.no_show", absent.id, "confirmed", "no_show"),
    ]


def test_admin_changes_publish_the_event_of_the_state_entered(client, auth, freeze, tutor, student, published):
    freeze(utc(2026, 3, 1))
    admin = UserFactory(roles=["admin"])
    booking = BookingFactory(tutor=tutor, student=student, start_at=MONDAY, state="requested")
    post(client, auth, admin, f"/admin/bookings/{booking.id}/state", {"state": "cancelled", "note": "Dispute"})
    post(client, auth, admin, f"/admin/bookings/{booking.id}/state", {"state": "confirmed", "note": "Undo"})
    post(client, auth, admin, f"/admin/bookings/{booking.id}/reschedule", {"start": iso(TUESDAY)})
    names = [(name, body["previous_state"], body["actor_id"], body["by_admin"]) for name, body in published]
    assert names == [("booking.cancelled", "requested", admin.id, True), ("booking.confirmed", "cancelled", admin.id, True),
                     ("booking.rescheduled", "confirmed", admin.id, True)]
    assert published[0][1]["cancelled_by"] == "admin" and published[0][1]["refund_percent"] == 100


def test_expiry_publishes_expired(app, freeze, tutor, student, published):
    from jobs.tasks import expire_booking_requests

    freeze(utc(2026, 3, 1))
    booking = BookingFactory(tutor=tutor, student=student, start_at=MONDAY, state="requested")
    freeze(MONDAY)
    assert expire_booking_requests() == 1
    assert [(name, body["booking_id"], body["actor_id"]) for name, body in published] == [
        ("booking.expired", booking.id, None)]


def test_a_refused_change_publishes_nothing(client, auth, freeze, tutor, student, published):
    freeze(utc(2026, 3, 1))
    BookingFactory(tutor=tutor, start_at=MONDAY)
    response = post(client, auth, student, "/bookings", {"tutor_id": tutor.id, "start": iso(MONDAY), "duration": 60,
                                                         "subject": "calculus"})
    assert_error(response, 409, "no longer available")
    assert published == []


def test_services_leave_the_commit_to_the_unit_of_work(app, freeze, tutor, student, published):
    """A unit that fails after the service ran keeps nothing: no booking, no outbox row, no event."""
    freeze(utc(2026, 3, 1))
    student_id = student.id
    with pytest.raises(RuntimeError), unit_of_work():
        services.create_booking(db.session.get(User, student_id), tutor.id, MONDAY, 60, "calculus")
        raise RuntimeError("the caller fails after the service")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 0
    assert messages() == [] and published == []
