"""Outlook through the sync framework, end to end against the Graph/identity stub (in process, at the requests
transport): connect with PKCE, a confirmed session pushed, moved and deleted, busy time pulled in, a revoked grant
breaking the connection."""
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import sqlalchemy as sa

from app.calendars.models import CalendarConnection, CalendarPushedEvent
from app.common.time import utcnow
from app.scheduling.models import BusyBlock
from calendar_sandbox.graph import in_process
from jobs import tasks
from tests.factories import BookingFactory, TutorFactory, UserFactory
from tests.scheduling.conftest import iso

BASE = "/api/v1/calendar"


@pytest.fixture
def graph(app, monkeypatch):
    stub, session, config = in_process()
    for key, value in config.items():
        monkeypatch.setitem(app.config, key, value)
    monkeypatch.setitem(app.extensions, "calendar_transports", {"outlook": session})
    return stub


def connect(client, auth, graph, user):
    started = client.post(f"{BASE}/connections/outlook", headers=auth.headers(user))
    assert started.status_code == 201, started.get_json()
    query = {k: v[0] for k, v in parse_qs(urlparse(started.get_json()["authorization_url"]).query).items()}
    assert query["code_challenge_method"] == "S256"
    code = graph.issue_code(query["code_challenge"], query["redirect_uri"])
    response = client.get(f"{BASE}/oauth/outlook/callback", query_string={"state": query["state"], "code": code},
                          headers=auth.headers(user))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_outlook_connect_push_move_delete_and_pull(client, auth, db, graph, worker):
    tutor, student = TutorFactory(), UserFactory()
    connection = connect(client, auth, graph, student)
    assert (connection["provider"], connection["status"]) == ("outlook", "active")
    worker()  # the first pull (nothing in the calendar yet)

    start = (utcnow() + timedelta(days=3)).replace(microsecond=0)
    booking = BookingFactory(tutor=tutor, student=student, start_at=start, state="requested")
    assert client.post(f"/api/v1/bookings/{booking.id}/accept", headers=auth.headers(tutor)).status_code == 200
    worker()
    [pushed] = graph.events.values()
    assert pushed["start"]["dateTime"].startswith(iso(start)[:16].replace("+00:00", ""))
    # no Graph attendees (they would be mailed an invitation): the participants and links are in the body
    content = pushed["body"]["content"]
    assert "attendees" not in pushed
    assert f"Participants: {tutor.full_name} (tutor), {student.full_name} (student)" in content
    assert f"/bookings/{booking.id}" in content and "Chat: " in content
    moved = start + timedelta(hours=2)
    admin = UserFactory(roles=["admin"])
    assert client.post(f"/api/v1/admin/bookings/{booking.id}/reschedule", json={"start": iso(moved)},
                       headers=auth.headers(admin)).status_code == 200
    worker()
    [patched] = graph.events.values()
    assert patched["start"]["dateTime"].startswith(iso(moved)[:16].replace("+00:00", ""))

    # busy time in Outlook becomes a busy block; our own pushed event does not
    graph.add_event("Dentist", start + timedelta(days=1), start + timedelta(days=1, hours=1))
    tasks.pull_calendar(connection["id"])
    db.session.expire_all()
    blocks = db.session.scalars(sa.select(BusyBlock).where(BusyBlock.user_id == student.id,
                                                           BusyBlock.source == "outlook")).all()
    assert [(b.start_at, b.end_at) for b in blocks] == [(start + timedelta(days=1), start + timedelta(days=1, hours=1))]

    assert client.post(f"/api/v1/bookings/{booking.id}/cancel", json={"reason": "Trip"},
                       headers=auth.headers(tutor)).status_code == 200
    worker()
    assert [e["subject"] for e in graph.events.values()] == ["Dentist"]
    assert graph.mail == []  # pushed, moved and deleted without mailing anyone


def test_outlook_revoked_grant_breaks_the_connection(client, auth, db, graph, worker):
    student = UserFactory()
    connection = connect(client, auth, graph, student)
    graph.revoke()
    graph.expire_access_tokens()
    worker()
    db.session.expire_all()
    row = db.session.get(CalendarConnection, connection["id"])
    assert row.status == "broken" and row.broken_reason


def _forget_mappings(db):
    """The job crashed right after Graph created the event: its id was never recorded."""
    db.session.execute(sa.delete(CalendarPushedEvent))
    db.session.commit()


def test_outlook_finds_an_unrecorded_event_by_its_key(client, auth, db, graph, worker):
    tutor, student = TutorFactory(), UserFactory()
    connect(client, auth, graph, student)
    worker()
    start = (utcnow() + timedelta(days=3)).replace(microsecond=0)
    booking = BookingFactory(tutor=tutor, student=student, start_at=start, state="requested")
    assert client.post(f"/api/v1/bookings/{booking.id}/accept", headers=auth.headers(tutor)).status_code == 200
    worker()
    [event_id] = graph.events
    _forget_mappings(db)

    moved = start + timedelta(hours=2)
    assert client.post(f"/api/v1/admin/bookings/{booking.id}/reschedule", json={"start": iso(moved)},
                       headers=auth.headers(UserFactory(roles=["admin"]))).status_code == 200
    worker()
    assert list(graph.events) == [event_id]
    assert graph.events[event_id]["start"]["dateTime"].startswith(iso(moved)[:16])
    assert ("PATCH", f"/v1.0/me/events/{event_id}") in graph.calls()
    [mapping] = db.session.scalars(sa.select(CalendarPushedEvent)).all()
    assert mapping.external_id == event_id

    _forget_mappings(db)
    assert client.post(f"/api/v1/bookings/{booking.id}/cancel", json={"reason": "Trip"},
                       headers=auth.headers(tutor)).status_code == 200
    worker()
    assert graph.events == {} and graph.calls()[-1] == ("DELETE", f"/v1.0/me/events/{event_id}")


def test_outlook_cancel_of_an_event_never_created_deletes_nothing(client, auth, db, graph, worker):
    tutor, student = TutorFactory(), UserFactory()
    connection = connect(client, auth, graph, student)
    worker()
    graph.add_event("Dentist", utcnow() + timedelta(days=1), utcnow() + timedelta(days=1, hours=1))
    booking = BookingFactory(tutor=tutor, student=student, state="cancelled")
    assert tasks.push_booking_to_calendar(connection["id"], booking.id) == "skipped"
    assert [e["subject"] for e in graph.events.values()] == ["Dentist"]
