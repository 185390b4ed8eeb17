"""Disconnecting a calendar: the connection, its pulled busy time and its mappings go at once; a job then stops
the push channel and deletes the events Tutorhub pushed for sessions not yet over (past ones stay as the user's
record), with the grant the connection had (best effort: a revoked grant leaves them, and never blocks the
disconnect)."""
from datetime import timedelta

import sqlalchemy as sa

from app.calendars.models import CalendarConnection, CalendarPushedEvent
from app.calendars.subscribers import CLEAN_UP_FAILURE_TTL
from app.common.time import utcnow
from app.scheduling.models import BusyBlock
from jobs import tasks
from tests.calendars.conftest import make_connection
from tests.calendars.test_outlook_sync import connect, graph  # noqa: F401  (the Graph stub fixture)
from tests.factories import BookingFactory, TutorFactory, UserFactory

BASE = "/api/v1/calendar"
EVENTS = "/calendar/v3/calendars/primary/events"


def pushed(db, connection, *external_ids, start_at=None):
    """Mappings of pushed events, each for its own booking (upcoming unless ``start_at`` is given)."""
    for external_id in external_ids:
        booking = BookingFactory(**({"start_at": start_at} if start_at else {}))
        db.session.add(CalendarPushedEvent(connection_id=connection.id, booking_id=booking.id,
                                           external_id=external_id))
    db.session.commit()


def test_disconnect_deletes_the_pushed_events_after_stopping_the_channel(client, auth, db, google, google_api):
    user = UserFactory()
    connection = make_connection(user, channel_id="chan-1", channel_resource_id="res-1",
                                 channel_expires_at=utcnow() + timedelta(days=3))
    pushed(db, connection, "eventa", "eventb", "eventc")
    other = make_connection(UserFactory())
    pushed(db, other, "notmine")
    http = google_api((204, ""), (204, ""), (410, {"error": {"code": 410, "message": "Resource has been deleted"}}),
                      (404, {"error": {"code": 404, "message": "Not Found"}}))

    assert client.delete(f"{BASE}/connections/{connection.id}", headers=auth.headers(user)).status_code == 204
    assert http.calls() == [("POST", "/calendar/v3/channels/stop", {}),
                            ("DELETE", f"{EVENTS}/eventa", {"sendUpdates": "none"}),
                            ("DELETE", f"{EVENTS}/eventb", {"sendUpdates": "none"}),
                            ("DELETE", f"{EVENTS}/eventc", {"sendUpdates": "none"})]
    assert all(r["headers"]["authorization"] == "Bearer access-0" for r in http.requests)
    db.session.expire_all()
    assert db.session.get(CalendarConnection, connection.id) is None
    assert db.session.scalars(sa.select(CalendarPushedEvent.external_id)).all() == ["notmine"]


def test_a_revoked_grant_does_not_block_the_disconnect_and_leaves_the_events(client, auth, db, google, google_api):
    user = UserFactory()
    connection = make_connection(user, expires_in=timedelta(seconds=-5), channel_id="chan-2",
                                 channel_resource_id="res-2", channel_expires_at=utcnow() + timedelta(days=1))
    pushed(db, connection, "eventa")
    db.session.add(BusyBlock(user_id=user.id, source="google", external_id="x", start_at=utcnow(),
                             end_at=utcnow() + timedelta(hours=1)))
    db.session.commit()
    google.revoked = True
    http = google_api()

    assert client.delete(f"{BASE}/connections/{connection.id}", headers=auth.headers(user)).status_code == 204
    assert http.requests == [] and [r["grant_type"] for r in google.requests] == ["refresh_token"]
    db.session.expire_all()
    assert db.session.get(CalendarConnection, connection.id) is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BusyBlock)) == 0


def test_a_broken_connection_is_disconnected_without_calling_google(client, auth, db, google, google_api):
    user = UserFactory()
    connection = make_connection(user, status="broken", broken_reason="revoked")
    pushed(db, connection, "eventa")
    http = google_api()
    assert client.delete(f"{BASE}/connections/{connection.id}", headers=auth.headers(user)).status_code == 204
    assert http.requests == [] and google.requests == []
    assert db.session.get(CalendarConnection, connection.id) is None


def test_the_clean_up_is_a_job_and_runs_after_the_disconnect(client, auth, db, google, google_api, worker):
    user = UserFactory()
    connection = make_connection(user)
    pushed(db, connection, "eventa")
    http = google_api((503, {"error": {"code": 503, "message": "Backend Error"}}), (204, ""))

    assert client.delete(f"{BASE}/connections/{connection.id}", headers=auth.headers(user)).status_code == 204
    [job] = worker.queues["default"].get_jobs()
    assert job.func_name == "jobs.tasks.clean_up_disconnected_calendar" and http.requests == []
    assert "access-0" not in repr(job.args)  # the grant travels encrypted
    assert job.failure_ttl == CLEAN_UP_FAILURE_TTL == 7 * 24 * 3600  # it carries the grant: not a year in Redis
    worker()  # the 503 is retried by RQ (CALENDAR_RETRY_SECONDS), the second attempt deletes
    assert http.calls() == [("DELETE", f"{EVENTS}/eventa", {"sendUpdates": "none"})] * 2


def test_only_the_events_of_sessions_not_over_are_deleted(client, auth, db, google, google_api):
    user = UserFactory()
    connection = make_connection(user)
    now = utcnow().replace(microsecond=0)
    pushed(db, connection, "pastevent", start_at=now - timedelta(days=3))
    pushed(db, connection, "endedjustnow", start_at=now - timedelta(minutes=61))
    pushed(db, connection, "inprogress", start_at=now - timedelta(minutes=30))
    pushed(db, connection, "upcoming")
    http = google_api((204, ""), (204, ""))

    assert client.delete(f"{BASE}/connections/{connection.id}", headers=auth.headers(user)).status_code == 204
    assert http.calls() == [("DELETE", f"{EVENTS}/inprogress", {"sendUpdates": "none"}),
                            ("DELETE", f"{EVENTS}/upcoming", {"sendUpdates": "none"})]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarPushedEvent)) == 0


def test_a_clean_up_that_keeps_failing_leaves_redis_with_its_grant(client, auth, db, google, google_api, worker,
                                                                   monkeypatch, app):
    monkeypatch.setitem(app.config, "CALENDAR_RETRY_SECONDS", [0])
    user = UserFactory()
    connection = make_connection(user)
    pushed(db, connection, "eventa")
    google_api(*[(503, {"error": {"code": 503, "message": "Backend Error"}})] * 2)

    assert client.delete(f"{BASE}/connections/{connection.id}", headers=auth.headers(user)).status_code == 204
    [job] = worker.queues["default"].get_jobs()
    worker()
    assert worker.queues["default"].failed_job_registry.get_job_ids() == [job.id]
    assert 0 < app.extensions["redis"].ttl(job.key) <= CLEAN_UP_FAILURE_TTL


def test_outlook_disconnect_deletes_the_pushed_event(client, auth, db, graph, worker):  # noqa: F811
    tutor, student = TutorFactory(), UserFactory()
    connection = connect(client, auth, graph, student)
    worker()
    booking = BookingFactory(tutor=tutor, student=student, state="requested")
    assert client.post(f"/api/v1/bookings/{booking.id}/accept", headers=auth.headers(tutor)).status_code == 200
    worker()
    [event_id] = graph.events
    graph.add_event("Dentist", utcnow() + timedelta(days=1), utcnow() + timedelta(days=1, hours=1))

    assert client.delete(f"{BASE}/connections/{connection['id']}", headers=auth.headers(student)).status_code == 204
    worker()
    assert [e["subject"] for e in graph.events.values()] == ["Dentist"]
    assert ("DELETE", f"/v1.0/me/events/{event_id}") in graph.calls()


def test_outlook_disconnect_with_a_revoked_grant_leaves_the_event(client, auth, db, graph, worker):  # noqa: F811
    tutor, student = TutorFactory(), UserFactory()
    connection = connect(client, auth, graph, student)
    booking = BookingFactory(tutor=tutor, student=student, state="requested")
    assert client.post(f"/api/v1/bookings/{booking.id}/accept", headers=auth.headers(tutor)).status_code == 200
    worker()
    assert len(graph.events) == 1
    graph.revoke()
    graph.expire_access_tokens()

    assert client.delete(f"{BASE}/connections/{connection['id']}", headers=auth.headers(student)).status_code == 204
    worker()
    assert len(graph.events) == 1
    db.session.expire_all()
    assert db.session.get(CalendarConnection, connection["id"]) is None


def test_a_rate_limited_clean_up_comes_back_for_the_events_left(client, auth, db, google, google_api, worker):
    user = UserFactory()
    connection = make_connection(user)
    pushed(db, connection, "eventa", "eventb")
    http = google_api((204, ""), (429, {"error": {"code": 429, "message": "Rate Limit Exceeded"}},
                                  {"retry-after": "30"}))
    assert client.delete(f"{BASE}/connections/{connection.id}", headers=auth.headers(user)).status_code == 204
    worker()
    assert [path for _m, path, _q in http.calls()] == [f"{EVENTS}/eventa", f"{EVENTS}/eventb"]
    registry = worker.queues["default"].scheduled_job_registry
    [job_id] = registry.get_job_ids()
    job = worker.queues["default"].fetch_job(job_id)
    assert job.func_name == "jobs.tasks.clean_up_disconnected_calendar" and job.args[0] == "google"
    assert job.args[2] == ["eventb"] and job.failure_ttl == CLEAN_UP_FAILURE_TTL


def test_outlook_disconnect_keeps_the_past_session_and_mails_no_one(client, auth, db, graph, worker):  # noqa: F811
    tutor, student = TutorFactory(), UserFactory()
    connection = connect(client, auth, graph, student)
    worker()
    past = BookingFactory(tutor=tutor, student=student, start_at=utcnow().replace(microsecond=0) - timedelta(days=2))
    assert tasks.push_booking_to_calendar(connection["id"], past.id) == "pushed"
    [past_event] = graph.events
    upcoming = BookingFactory(tutor=tutor, student=student, state="requested")
    assert client.post(f"/api/v1/bookings/{upcoming.id}/accept", headers=auth.headers(tutor)).status_code == 200
    worker()
    [upcoming_event] = set(graph.events) - {past_event}

    assert client.delete(f"{BASE}/connections/{connection['id']}", headers=auth.headers(student)).status_code == 204
    worker()
    assert list(graph.events) == [past_event]
    assert ("DELETE", f"/v1.0/me/events/{upcoming_event}") in graph.calls()
    assert graph.mail == []
