"""Reschedule (proposal or immediate), and the admin override endpoints."""
from datetime import datetime, timedelta

from tests.conftest import assert_error
from tests.factories import BookingFactory, UserFactory
from tests.scheduling.conftest import iso, make_tutor, utc
from tests.scheduling.helpers import eml, ics_attachment, messages

MONDAY = utc(2026, 3, 9, 13)
TUESDAY = utc(2026, 3, 10, 15)


def post(client, auth, user, url, json=None):
    return client.post(f"/api/v1{url}", json=json, headers=auth.headers(user))


def test_tutor_proposes_student_accepts(client, auth, freeze, outbox_dir, tutor, student):
    freeze(utc(2026, 3, 1))
    booking = BookingFactory(tutor=tutor, student=student, start_at=MONDAY)
    response = post(client, auth, tutor, f"/bookings/{booking.id}/reschedule", {"start": iso(TUESDAY)})
    assert response.status_code == 200
    body = response.get_json()
    assert datetime.fromisoformat(body["start"]) == MONDAY
    assert datetime.fromisoformat(body["proposed_start"]) == TUESDAY and body["proposed_by_id"] == tutor.id
    assert [m.kind for m in messages(student.email)] == ["booking_reschedule_proposed"]
    assert_error(post(client, auth, tutor, f"/bookings/{booking.id}/reschedule/accept"), 403)
    assert_error(post(client, auth, UserFactory(), f"/bookings/{booking.id}/reschedule/accept"), 404)
    response = post(client, auth, student, f"/bookings/{booking.id}/reschedule/accept")
    assert response.status_code == 200
    body = response.get_json()
    assert datetime.fromisoformat(body["start"]) == TUESDAY and body["proposed_start"] is None
    assert body["sequence"] == 1 and body["state"] == "confirmed"
    [notice] = messages(tutor.email, kind="booking_rescheduled")
    [event] = ics_attachment(eml(outbox_dir, notice)).walk("VEVENT")
    assert event.decoded("DTSTART") == TUESDAY and int(event["SEQUENCE"]) == 1
    assert_error(post(client, auth, student, f"/bookings/{booking.id}/reschedule/accept"), 409, "no pending")


def test_declined_proposal_keeps_the_time(client, auth, freeze, tutor, student):
    freeze(utc(2026, 3, 1))
    booking = BookingFactory(tutor=tutor, student=student, start_at=MONDAY)
    post(client, auth, student, f"/bookings/{booking.id}/reschedule", {"start": iso(TUESDAY)})
    response = post(client, auth, tutor, f"/bookings/{booking.id}/reschedule/decline")
    body = response.get_json()
    assert datetime.fromisoformat(body["start"]) == MONDAY and body["proposed_start"] is None
    assert [m.kind for m in messages(student.email)] == ["booking_reschedule_declined"]


def test_tutor_proposal_on_a_request_confirms_when_student_accepts(client, auth, freeze, tutor, student):
    freeze(utc(2026, 3, 1))
    booking = BookingFactory(tutor=tutor, student=student, start_at=MONDAY, state="requested")
    post(client, auth, tutor, f"/bookings/{booking.id}/reschedule", {"start": iso(TUESDAY)})
    body = post(client, auth, student, f"/bookings/{booking.id}/reschedule/accept").get_json()
    assert body["state"] == "confirmed" and datetime.fromisoformat(body["start"]) == TUESDAY


def test_student_moves_own_request_immediately(client, auth, freeze, tutor, student):
    freeze(utc(2026, 3, 1))
    booking = BookingFactory(tutor=tutor, student=student, start_at=MONDAY, state="requested")
    body = post(client, auth, student, f"/bookings/{booking.id}/reschedule", {"start": iso(TUESDAY)}).get_json()
    assert body["state"] == "requested" and datetime.fromisoformat(body["start"]) == TUESDAY
    assert body["sequence"] == 1


def test_immediate_reschedule_within_policy(client, auth, freeze, student):
    freeze(utc(2026, 3, 1))
    tutor = make_tutor(instant_booking=True, cancellation_window_hours=24)
    booking = BookingFactory(tutor=tutor, student=student, start_at=MONDAY)
    body = post(client, auth, student, f"/bookings/{booking.id}/reschedule", {"start": iso(TUESDAY)}).get_json()
    assert datetime.fromisoformat(body["start"]) == TUESDAY and body["proposed_start"] is None
    # Inside the window it becomes a proposal.
    freeze(TUESDAY - timedelta(hours=5))
    body = post(client, auth, student, f"/bookings/{booking.id}/reschedule",
                {"start": iso(TUESDAY + timedelta(hours=1))}).get_json()
    assert datetime.fromisoformat(body["start"]) == TUESDAY and body["proposed_start"] is not None


def test_reschedule_bad_input_and_conflicts(client, auth, freeze, tutor, student):
    freeze(utc(2026, 3, 1))
    booking = BookingFactory(tutor=tutor, student=student, start_at=MONDAY)
    BookingFactory(tutor=tutor, start_at=TUESDAY)
    url = f"/bookings/{booking.id}/reschedule"
    assert_error(post(client, auth, student, url, {"start": "2026-03-10T15:00:00"}), 422)
    assert_error(post(client, auth, student, url, {"start": iso(TUESDAY + timedelta(minutes=10))}), 422, "slot boundary")
    assert_error(post(client, auth, student, url, {"start": iso(TUESDAY)}), 409, "no longer available")
    assert_error(post(client, auth, student, url, {"start": iso(MONDAY)}), 422, "current start")
    assert_error(post(client, auth, UserFactory(), url, {"start": iso(TUESDAY)}), 404)
    assert_error(client.post(f"/api/v1{url}", json={"start": iso(TUESDAY)}), 401)
    done = BookingFactory(tutor=tutor, student=student, start_at=utc(2026, 2, 20, 14), state="completed")
    assert_error(post(client, auth, student, f"/bookings/{done.id}/reschedule",
                      {"start": iso(TUESDAY + timedelta(hours=2))}), 409, "completed")


def test_admin_overrides(client, auth, freeze, tutor, student):
    freeze(utc(2026, 3, 1))
    admin = UserFactory(roles=["admin"])
    booking = BookingFactory(tutor=tutor, student=student, start_at=MONDAY, state="completed")
    url = f"/bookings/{booking.id}"
    assert_error(post(client, auth, student, f"/admin{url}/state", {"state": "cancelled", "note": "x"}), 403)
    assert_error(post(client, auth, admin, f"/admin{url}/state", {"state": "bogus", "note": "x"}), 422)
    assert_error(post(client, auth, admin, "/admin/bookings/999999/state", {"state": "cancelled", "note": "x"}), 404)
    body = post(client, auth, admin, f"/admin{url}/state", {"state": "cancelled", "note": "Dispute 12"}).get_json()
    assert body["state"] == "cancelled" and "Dispute 12" in body["admin_note"]
    assert body["cancellation_policy"]["cancelled_by"] == "admin"
    # Reviving it onto a now-taken time is a conflict, not a double booking.
    BookingFactory(tutor=tutor, start_at=MONDAY)
    assert_error(post(client, auth, admin, f"/admin{url}/state", {"state": "confirmed", "note": "undo"}), 409)
    # Admin reschedule ignores the slot grid but not overlaps.
    other = BookingFactory(tutor=tutor, student=UserFactory(), start_at=TUESDAY)
    body = post(client, auth, admin, f"/admin/bookings/{other.id}/reschedule",
                {"start": iso(TUESDAY + timedelta(minutes=7))}).get_json()
    assert datetime.fromisoformat(body["start"]) == TUESDAY + timedelta(minutes=7)
    assert_error(post(client, auth, admin, f"/admin/bookings/{other.id}/reschedule", {"start": iso(MONDAY)}), 409)
    assert_error(post(client, auth, admin, f"/admin/bookings/{other.id}/reschedule", {"start": "2026-03-09T10:00:00"}), 422)


def test_admin_cancel_records_the_state_it_cancelled(client, auth, freeze, tutor, student):
    """The terms judge the booking as it was (a request is refunded in full), not as the forced state."""
    freeze(MONDAY - timedelta(hours=2))  # inside the 24-hour window
    admin = UserFactory(roles=["admin"])
    request = BookingFactory(tutor=tutor, student=student, start_at=MONDAY, state="requested")
    body = post(client, auth, admin, f"/admin/bookings/{request.id}/state", {"state": "cancelled", "note": "x"}).get_json()
    assert body["cancellation_policy"]["state_at_cancel"] == "requested"
    assert body["cancellation_policy"]["refund_percent"] == 100
