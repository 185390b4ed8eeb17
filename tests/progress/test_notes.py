"""Session notes: POST/PATCH/GET /bookings/{id}/session-note."""
from datetime import timedelta

import pytest

from app.common.time import utcnow
from tests.conftest import assert_error
from tests.factories import BookingFactory, UserFactory, completed_booking
from tests.progress.conftest import note

NOTE = {"topics": "Limits and continuity", "homework": "Exercises 3.1–3.12", "progress_mark": 4}


def _url(booking):
    return f"/api/v1/bookings/{booking.id}/session-note"


@pytest.fixture
def booking(tutor, student):
    return completed_booking(tutor=tutor, student=student)


def test_tutor_writes_student_reads_tutor_edits(client, auth, booking):
    response = client.post(_url(booking), json=NOTE, headers=auth.headers(booking.tutor))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert {k: body[k] for k in NOTE} == NOTE
    assert (body["booking_id"], body["tutor_id"], body["student_id"], body["subject"]) == (
        booking.id, booking.tutor_id, booking.student_id, "calculus")
    assert body["session_at"] == booking.start_at.isoformat()

    for reader in (booking.student, booking.tutor):
        assert client.get(_url(booking), headers=auth.headers(reader)).get_json() == body

    edited = client.patch(_url(booking), json={"progress_mark": 5, "homework": None},
                          headers=auth.headers(booking.tutor))
    assert edited.status_code == 200
    assert (edited.get_json()["progress_mark"], edited.get_json()["homework"], edited.get_json()["topics"]) == (
        5, "", NOTE["topics"])
    assert client.get(_url(booking), headers=auth.headers(booking.student)).get_json()["progress_mark"] == 5


def test_admin_reads_a_note(client, auth, booking):
    note(booking, 3)
    admin = UserFactory(roles=["admin"])
    assert client.get(_url(booking), headers=auth.headers(admin)).get_json()["progress_mark"] == 3


def test_homework_is_optional(client, auth, booking):
    response = client.post(_url(booking), json={"topics": "Derivatives", "progress_mark": 1},
                           headers=auth.headers(booking.tutor))
    assert response.status_code == 201 and response.get_json()["homework"] == ""


@pytest.mark.parametrize("state", ["requested", "confirmed", "in_progress", "cancelled", "no_show", "rejected"])
def test_not_before_completion(client, auth, tutor, student, state):
    booking = BookingFactory(tutor=tutor, student=student, state=state)
    assert_error(client.post(_url(booking), json=NOTE, headers=auth.headers(tutor)), 409, "completed")


def test_one_note_per_session(client, auth, booking):
    assert client.post(_url(booking), json=NOTE, headers=auth.headers(booking.tutor)).status_code == 201
    assert_error(client.post(_url(booking), json=NOTE, headers=auth.headers(booking.tutor)), 409, "already")


@pytest.mark.parametrize(("body", "field"), [
    ({**NOTE, "progress_mark": 0}, "progress_mark"),
    ({**NOTE, "progress_mark": 6}, "progress_mark"),
    ({**NOTE, "progress_mark": "4"}, "progress_mark"),
    ({**NOTE, "progress_mark": None}, "progress_mark"),
    ({"topics": "x", "homework": ""}, "progress_mark"),
    ({**NOTE, "topics": ""}, "topics"),
    ({**NOTE, "topics": "x" * 2001}, "topics"),
    ({"progress_mark": 3}, "topics"),
    ({**NOTE, "homework": "x" * 2001}, "homework"),
    ({**NOTE, "private": True}, "private"),
])
def test_bad_input(client, auth, booking, body, field):
    response = assert_error(client.post(_url(booking), json=body, headers=auth.headers(booking.tutor)), 422)
    assert field in response["errors"], response


@pytest.mark.parametrize(("body", "field"), [
    ({"progress_mark": 0}, "progress_mark"),
    ({"progress_mark": 6}, "progress_mark"),
    ({"progress_mark": None}, "progress_mark"),
    ({"topics": ""}, "topics"),
    ({"topics": None}, "topics"),
    ({"homework": "x" * 2001}, "homework"),
    ({"booking_id": 7}, "booking_id"),
])
def test_patch_bad_input(client, auth, booking, body, field):
    note(booking, 3)
    response = assert_error(client.patch(_url(booking), json=body, headers=auth.headers(booking.tutor)), 422)
    assert field in response["errors"], response
    assert client.get(_url(booking), headers=auth.headers(booking.tutor)).get_json()["progress_mark"] == 3


def test_who_may_write_and_read(client, auth, booking, other_tutor, other_student):
    student_only = assert_error(client.post(_url(booking), json=NOTE, headers=auth.headers(booking.student)), 403)
    assert "tutor" in student_only["message"]
    # A tutor who also studies and is this session's student: 403, it is not their note to write.
    peer = UserFactory(roles=["student", "tutor"])
    peer_booking = completed_booking(tutor=booking.tutor, student=peer)
    assert_error(client.post(_url(peer_booking), json=NOTE, headers=auth.headers(peer)), 403, "tutor")
    assert_error(client.post(_url(booking), json=NOTE, headers=auth.headers(other_tutor)), 404)
    assert_error(client.post("/api/v1/bookings/99999999/session-note", json=NOTE,
                             headers=auth.headers(booking.tutor)), 404)
    assert_error(client.post(_url(booking), json=NOTE), 401)

    note(booking, 3)
    assert_error(client.get(_url(booking), headers=auth.headers(other_student)), 404)
    assert_error(client.get(_url(booking), headers=auth.headers(other_tutor)), 404)
    assert_error(client.get(_url(booking)), 401)
    assert_error(client.patch(_url(booking), json={"progress_mark": 1}, headers=auth.headers(other_tutor)), 404)
    assert_error(client.patch(_url(booking), json={"progress_mark": 1}, headers=auth.headers(peer)), 404)
    assert_error(client.patch(_url(booking), json={"progress_mark": 1}, headers=auth.headers(booking.student)), 403)
    assert client.get(_url(booking), headers=auth.headers(booking.student)).get_json()["progress_mark"] == 3


def test_no_note_yet_is_404(client, auth, booking):
    assert_error(client.get(_url(booking), headers=auth.headers(booking.student)), 404, "no note")
    assert_error(client.patch(_url(booking), json={"progress_mark": 2}, headers=auth.headers(booking.tutor)), 404)


def test_edit_window(app, client, auth, booking):
    days = app.config["SESSION_NOTE_EDIT_DAYS"]
    note(booking, 3, created_at=utcnow() - timedelta(days=days, minutes=1))
    assert_error(client.patch(_url(booking), json={"progress_mark": 5}, headers=auth.headers(booking.tutor)), 409,
                 f"{days} days")
    assert client.get(_url(booking), headers=auth.headers(booking.student)).get_json()["progress_mark"] == 3


def test_edit_just_inside_the_window(app, client, auth, booking):
    days = app.config["SESSION_NOTE_EDIT_DAYS"]
    note(booking, 3, created_at=utcnow() - timedelta(days=days) + timedelta(minutes=5))
    response = client.patch(_url(booking), json={"topics": "Chain rule"}, headers=auth.headers(booking.tutor))
    assert response.status_code == 200 and response.get_json()["topics"] == "Chain rule"
