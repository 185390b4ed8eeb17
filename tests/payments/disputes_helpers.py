"""Disputes test helpers: a paid session walked to completion through the API, multipart bodies of evidence."""
import io
from datetime import timedelta

from tests.payments.conftest import MONDAY_0900_EDT, iso

API = "/api/v1"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
TEXT = b"The tutor joined 25 minutes late and left after 20 minutes.\n"
DONE_AT = MONDAY_0900_EDT + timedelta(hours=2)


def completed_session(client, auth, freeze, student, tutor, start=MONDAY_0900_EDT):
    """Book (the price held: 3000), accept and complete a one-hour session; the clock then stands at ``start``
    + 2 h, inside the dispute window. Returns the booking id."""
    freeze(start - timedelta(days=8))
    response = client.post(f"{API}/bookings", json={"tutor_id": tutor.id, "start": iso(start), "duration": 60,
                                                    "subject": "calculus"}, headers=auth.headers(student))
    assert response.status_code == 201, response.get_json()
    booking_id = response.get_json()["id"]
    assert client.post(f"{API}/bookings/{booking_id}/accept", headers=auth.headers(tutor)).status_code == 200
    freeze(start + timedelta(hours=2))
    assert client.post(f"{API}/bookings/{booking_id}/complete", headers=auth.headers(tutor)).status_code == 200
    return booking_id


def evidence(*files):
    """(BytesIO, filename) tuples for a multipart ``evidence`` field (fresh streams on each call)."""
    return [(io.BytesIO(data), name) for data, name in files]


def dispute_form(reason="session_cut_short", details="Ended 40 minutes early.", files=((TEXT, "notes.txt"),),
                 **extra):
    return {"reason": reason, "details": details, "evidence": evidence(*files), **extra}


def open_dispute(client, auth, student, booking_id, headers=None, **form):
    return client.post(f"{API}/bookings/{booking_id}/disputes", data=dispute_form(**form),
                       headers={**auth.headers(student), **(headers or {})}, content_type="multipart/form-data")


def respond(client, auth, user, dispute_id, body="I stayed the whole hour; see the call log.",
            files=((PNG, "call-log.png"),)):
    return client.post(f"{API}/disputes/{dispute_id}/responses", data={"body": body, "evidence": evidence(*files)},
                       headers=auth.headers(user), content_type="multipart/form-data")
