"""Bookings over HTTP: request, accept/reject, instant booking, cancel, lifecycle marks, listing."""
from datetime import datetime, timedelta

import pytest

from app.extensions import db
from app.scheduling.models import Booking
from tests.conftest import assert_error
from tests.factories import (
    BookingFactory,
    SubjectFactory,
    TutorProfileFactory,
    TutorSubjectFactory,
    UserFactory,
    fund_wallet,
)
from tests.scheduling.conftest import iso, make_tutor, utc
from tests.scheduling.helpers import body_text, eml, ics_attachment, messages

MONDAY_0900_EDT = utc(2026, 3, 9, 13)


def book(client, auth, student, tutor, start=MONDAY_0900_EDT, duration=60, **extra):
    payload = {"tutor_id": tutor.id, "start": start if isinstance(start, str) else iso(start),
               "duration": duration, "subject": "calculus", **extra}
    return client.post("/api/v1/bookings", json=payload, headers=auth.headers(student))


@pytest.fixture
def march(freeze):
    return freeze(utc(2026, 3, 1))


def test_tokyo_student_books_and_tutor_accepts_with_ics_emails(client, auth, march, outbox_dir, tutor, student):
    response = book(client, auth, student, tutor, start="2026-03-09T22:00:00+09:00", note="Chain rule")
    assert response.status_code == 201, response.get_json()
    booking = response.get_json()
    assert booking["state"] == "requested"
    assert datetime.fromisoformat(booking["start"]) == MONDAY_0900_EDT
    assert datetime.fromisoformat(booking["end"]) == MONDAY_0900_EDT + timedelta(hours=1)
    assert booking["tutor"]["id"] == tutor.id and booking["is_repeat"] is False
    assert [m.kind for m in messages(tutor.email)] == ["booking_requested"]

    response = client.post(f"/api/v1/bookings/{booking['id']}/accept", headers=auth.headers(tutor))
    assert response.status_code == 200
    assert response.get_json()["state"] == "confirmed"
    for user in (student, tutor):
        [confirmation] = messages(user.email, kind="booking_confirmed")
        parsed = eml(outbox_dir, confirmation)
        cal = ics_attachment(parsed)
        [event] = cal.walk("VEVENT")
        assert str(cal["METHOD"]) == "REQUEST"
        assert str(event["UID"]) == f"booking-{booking['id']}@tutorhub.local"
        assert event.decoded("DTSTART") == MONDAY_0900_EDT
        assert event.decoded("DTEND") == MONDAY_0900_EDT + timedelta(hours=1)
        assert int(event["SEQUENCE"]) == 0 and str(event["STATUS"]) == "CONFIRMED"
    student_text = body_text(eml(outbox_dir, messages(student.email, kind="booking_confirmed")[0]))
    assert "Mon 09 Mar 2026 22:00 (Asia/Tokyo)" in student_text
    tutor_text = body_text(eml(outbox_dir, messages(tutor.email, kind="booking_confirmed")[0]))
    assert "Mon 09 Mar 2026 09:00 (America/New_York)" in tutor_text


def test_instant_booking_confirms_at_once(client, auth, march):
    tutor = make_tutor(instant_booking=True)
    student = UserFactory()
    response = book(client, auth, student, tutor)
    assert response.status_code == 201
    assert response.get_json()["state"] == "confirmed"
    assert len(messages(student.email, kind="booking_confirmed")) == 1


@pytest.mark.parametrize("start, duration, message", [
    ("2026-03-09T09:00:00", 60, None),                       # naive
    ("2026-02-27T14:00:00Z", 60, "in the past"),
    ("2026-03-09T13:15:00Z", 60, "slot boundary"),
    ("2026-03-08T13:00:00Z", 60, "slot boundary"),          # Sunday: no hours
    ("2026-03-09T20:30:00Z", 60, "slot boundary"),          # would end after 17:00 local
    ("2026-03-09T13:00:00Z", 45, "not offered"),
])
def test_request_bad_times(client, auth, march, tutor, student, start, duration, message):
    assert_error(book(client, auth, student, tutor, start=start, duration=duration), 422, message)


def test_request_inside_notice_or_beyond_horizon(client, auth, freeze, student):
    freeze(utc(2026, 3, 9, 12))
    tutor = make_tutor(min_notice_minutes=240, max_days_ahead=10)
    assert_error(book(client, auth, student, tutor, start=utc(2026, 3, 9, 14)), 422, "minimum notice")
    assert_error(book(client, auth, student, tutor, start=utc(2026, 3, 20, 13)), 422, "horizon")
    assert book(client, auth, student, tutor, start=utc(2026, 3, 9, 17)).status_code == 201


def test_request_bad_payloads(client, auth, march, tutor, student):
    assert_error(book(client, auth, student, tutor, subject="Calculus!"), 422)
    assert_error(book(client, auth, student, tutor, surprise=1), 422)
    assert_error(book(client, auth, tutor, tutor), 422, "yourself")
    assert_error(book(client, auth, student, UserFactory()), 404)
    assert_error(client.post("/api/v1/bookings", json={"tutor_id": tutor.id}), 401)


def test_subject_must_be_known_and_taught_by_the_tutor(client, auth, march, tutor, student):
    response = book(client, auth, student, tutor, subject="underwater-basketry")
    assert_error(response, 422, "Unknown subject")
    assert "calculus" in response.get_json()["errors"]["subject"][0]

    profile = TutorProfileFactory(user=tutor)
    TutorSubjectFactory(profile=profile, subject=SubjectFactory(slug="physics"), level="university")
    TutorSubjectFactory(profile=profile, subject=SubjectFactory(slug="calculus"), level="university")
    db.session.commit()
    response = book(client, auth, student, tutor, subject="mathematics")
    assert_error(response, 422, "does not teach Mathematics")
    assert response.get_json()["errors"]["subject"] == ["Not taught by this tutor; choose one of: calculus, physics"]
    assert db.session.query(Booking).count() == 0
    fund_wallet(student, 3000)  # the profile charges 30.00 USD an hour
    assert book(client, auth, student, tutor, subject="physics").status_code == 201


def test_unconfirmed_email_cannot_book(client, auth, march, tutor):
    student = UserFactory(email_confirmed_at=None)
    assert_error(book(client, auth, student, tutor), 403, "email not confirmed")


def test_no_double_booking_of_tutor_or_student(client, auth, march, tutor, student):
    assert book(client, auth, student, tutor).status_code == 201
    assert_error(book(client, auth, UserFactory(), tutor), 409, "no longer available")
    other_tutor = make_tutor()
    assert_error(book(client, auth, student, other_tutor, start=MONDAY_0900_EDT + timedelta(minutes=30)), 409)
    assert book(client, auth, UserFactory(), tutor, start=MONDAY_0900_EDT + timedelta(hours=1)).status_code == 201


def test_buffers_keep_sessions_apart(client, auth, march, student):
    tutor = make_tutor(buffer_after_minutes=15)
    assert book(client, auth, student, tutor).status_code == 201
    assert_error(book(client, auth, UserFactory(), tutor, start=MONDAY_0900_EDT + timedelta(hours=1)), 409)
    assert book(client, auth, UserFactory(), tutor, start=MONDAY_0900_EDT + timedelta(minutes=90)).status_code == 201


def test_daily_limit(client, auth, march, student):
    tutor = make_tutor(daily_limit=1)
    assert book(client, auth, student, tutor).status_code == 201
    assert_error(book(client, auth, UserFactory(), tutor, start=MONDAY_0900_EDT + timedelta(hours=3)), 409, "daily")


def test_accept_rules(client, auth, march, tutor, student):
    booking_id = book(client, auth, student, tutor).get_json()["id"]
    other_tutor = make_tutor()
    assert_error(client.post(f"/api/v1/bookings/{booking_id}/accept", headers=auth.headers(other_tutor)), 404)
    assert_error(client.post(f"/api/v1/bookings/{booking_id}/accept", headers=auth.headers(student)), 403)
    assert_error(client.post(f"/api/v1/bookings/{booking_id}/accept"), 401)
    assert_error(client.post("/api/v1/bookings/999999/accept", headers=auth.headers(tutor)), 404)
    assert client.post(f"/api/v1/bookings/{booking_id}/accept", headers=auth.headers(tutor)).status_code == 200
    assert_error(client.post(f"/api/v1/bookings/{booking_id}/accept", headers=auth.headers(tutor)), 409, "confirmed")


def test_reject_frees_the_slot(client, auth, march, tutor, student):
    booking_id = book(client, auth, student, tutor).get_json()["id"]
    response = client.post(f"/api/v1/bookings/{booking_id}/reject", json={"reason": "Away"}, headers=auth.headers(tutor))
    assert response.status_code == 200 and response.get_json()["state"] == "rejected"
    assert [m.kind for m in messages(student.email)] == ["booking_rejected"]
    assert book(client, auth, UserFactory(), tutor).status_code == 201
    assert_error(client.post(f"/api/v1/bookings/{booking_id}/reject", json={"reason": 5}, headers=auth.headers(tutor)), 422)


def test_cancel_records_the_window_policy(client, auth, freeze, outbox_dir, tutor, student):
    freeze(utc(2026, 3, 1))
    booking = BookingFactory(tutor=tutor, student=student, start_at=utc(2026, 3, 2, 14))
    freeze(utc(2026, 3, 2, 4))  # ten hours before: inside the 24-hour window
    response = client.post(f"/api/v1/bookings/{booking.id}/cancel", json={"reason": "Sick"}, headers=auth.headers(student))
    assert response.status_code == 200
    body = response.get_json()
    assert body["state"] == "cancelled" and body["cancel_reason"] == "Sick" and body["sequence"] == 1
    assert body["cancellation_policy"] == {"window_hours": 24, "hours_before_start": 10.0, "late": True,
                                           "refund_percent": 50, "cancelled_by": "student",
                                           "state_at_cancel": "confirmed"}
    [notice] = messages(tutor.email, kind="booking_cancelled")
    cal = ics_attachment(eml(outbox_dir, notice))
    [event] = cal.walk("VEVENT")
    assert str(cal["METHOD"]) == "CANCEL" and str(event["STATUS"]) == "CANCELLED" and int(event["SEQUENCE"]) == 1


def test_cancel_by_tutor_refunds_fully_and_bad_input(client, auth, march, tutor, student):
    booking = BookingFactory(tutor=tutor, student=student, start_at=utc(2026, 3, 1, 20))
    assert_error(client.post(f"/api/v1/bookings/{booking.id}/cancel", json={}, headers=auth.headers(tutor)), 422)
    assert_error(client.post(f"/api/v1/bookings/{booking.id}/cancel", json={"reason": "x"},
                             headers=auth.headers(UserFactory())), 404)
    assert_error(client.post(f"/api/v1/bookings/{booking.id}/cancel", json={"reason": "x"}), 401)
    response = client.post(f"/api/v1/bookings/{booking.id}/cancel", json={"reason": "Conference"}, headers=auth.headers(tutor))
    assert response.get_json()["cancellation_policy"]["refund_percent"] == 100


def test_cancelling_a_completed_session_is_409(client, auth, tutor, student):
    booking = BookingFactory(tutor=tutor, student=student, state="completed")
    assert_error(client.post(f"/api/v1/bookings/{booking.id}/cancel", json={"reason": "late"},
                             headers=auth.headers(student)), 409, "completed")


def test_lifecycle_marks(client, auth, freeze, tutor, student):
    freeze(utc(2026, 3, 1))
    booking = BookingFactory(tutor=tutor, student=student, start_at=utc(2026, 3, 2, 14))
    url = f"/api/v1/bookings/{booking.id}"
    freeze(utc(2026, 3, 2, 13, 30))
    assert_error(client.post(f"{url}/start", headers=auth.headers(tutor)), 409, "15 minutes")
    assert_error(client.post(f"{url}/complete", headers=auth.headers(tutor)), 409, "before it starts")
    assert_error(client.post(f"{url}/start", headers=auth.headers(student)), 403)
    freeze(utc(2026, 3, 2, 13, 50))
    assert client.post(f"{url}/start", headers=auth.headers(tutor)).get_json()["state"] == "in_progress"
    assert_error(client.post(f"{url}/no-show", headers=auth.headers(tutor)), 409, "in progress")
    freeze(utc(2026, 3, 2, 15))
    body = client.post(f"{url}/complete", headers=auth.headers(tutor)).get_json()
    assert body["state"] == "completed" and body["completed_at"]
    assert_error(client.post(f"{url}/complete", headers=auth.headers(tutor)), 409)


def test_no_show(client, auth, freeze, tutor, student):
    freeze(utc(2026, 3, 1))
    booking = BookingFactory(tutor=tutor, student=student, start_at=utc(2026, 3, 2, 14))
    freeze(utc(2026, 3, 2, 14, 20))
    response = client.post(f"/api/v1/bookings/{booking.id}/no-show", headers=auth.headers(tutor))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["state"] == "no_show"
    assert_error(client.post(f"/api/v1/bookings/{booking.id}/no-show", headers=auth.headers(UserFactory(roles=["tutor"]))), 404)


def test_list_and_get_bookings(client, auth, tutor, student):
    base = utc(2027, 1, 4, 14)
    mine = [BookingFactory(tutor=tutor, student=student, start_at=base + timedelta(days=i)) for i in range(3)]
    BookingFactory(tutor=tutor, student=student, start_at=base + timedelta(days=5), state="requested")
    BookingFactory(start_at=base)  # someone else's
    response = client.get("/api/v1/bookings", query_string={"page_size": 2}, headers=auth.headers(student))
    assert response.status_code == 200
    assert [b["id"] for b in response.get_json()] == [mine[0].id, mine[1].id]
    assert '"total": 4' in response.headers["X-Pagination"]
    response = client.get("/api/v1/bookings", query_string={"state": "requested"}, headers=auth.headers(tutor))
    assert [b["state"] for b in response.get_json()] == ["requested"]
    response = client.get("/api/v1/bookings", query_string={"start_from": iso(base + timedelta(days=1)),
                                                            "start_to": iso(base + timedelta(days=2))},
                          headers=auth.headers(student))
    assert [b["id"] for b in response.get_json()] == [mine[1].id]
    assert_error(client.get("/api/v1/bookings", query_string={"state": "nope"}, headers=auth.headers(student)), 422)
    assert_error(client.get("/api/v1/bookings", query_string={"start_from": "2027-01-01T00:00:00"},
                            headers=auth.headers(student)), 422)
    assert_error(client.get("/api/v1/bookings"), 401)
    assert client.get(f"/api/v1/bookings/{mine[0].id}", headers=auth.headers(tutor)).status_code == 200
    assert_error(client.get(f"/api/v1/bookings/{mine[0].id}", headers=auth.headers(UserFactory())), 404)
    admin = UserFactory(roles=["admin"])
    assert client.get(f"/api/v1/bookings/{mine[0].id}", headers=auth.headers(admin)).status_code == 200


def test_expire_job_expires_unanswered_requests(app, client, auth, freeze, tutor, student):
    from jobs.tasks import expire_booking_requests

    freeze(utc(2026, 3, 1))
    stale = BookingFactory(tutor=tutor, student=student, start_at=utc(2026, 3, 2, 14), state="requested")
    fresh = BookingFactory(tutor=tutor, student=UserFactory(), start_at=utc(2026, 3, 3, 14), state="requested")
    freeze(utc(2026, 3, 2, 14))
    assert expire_booking_requests() == 1
    assert expire_booking_requests() == 0
    db.session.expire_all()
    assert db.session.get(Booking, stale.id).state == "expired"
    assert db.session.get(Booking, fresh.id).state == "requested"
    assert [m.kind for m in messages(student.email)] == ["booking_expired"]


def test_repeat_sessions_and_completed_counts(client, auth, march, tutor, student):
    from app.scheduling.services import completed_session_counts

    BookingFactory(tutor=tutor, student=student, start_at=utc(2026, 2, 23, 14), state="completed")
    BookingFactory(tutor=tutor, student=student, start_at=utc(2026, 2, 24, 14), state="completed")
    other = make_tutor()
    BookingFactory(tutor=other, student=student, start_at=utc(2026, 2, 25, 14), state="cancelled")
    response = book(client, auth, student, tutor)
    assert response.get_json()["is_repeat"] is True
    assert book(client, auth, student, other, start=MONDAY_0900_EDT + timedelta(hours=2)).get_json()["is_repeat"] is False
    assert completed_session_counts(student.id, [tutor.id, other.id]) == {tutor.id: 2, other.id: 0}
    assert completed_session_counts(student.id, []) == {}
