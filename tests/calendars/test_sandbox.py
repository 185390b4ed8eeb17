"""The local calendar simulator (calendar_sandbox): mounted in development only, refused in production, and an end
to end run through HTTP in which the real Google provider talks to it over real HTTP: connect (consent page,
token endpoint, PKCE), a booking inserted, moved and deleted in the simulated calendar, and busy time added on the
sandbox page reaching busy_blocks through a push notification, so the slot is no longer offered.

The factory's step is tried on bare Flask apps (a second create_app would rebind the process-wide extensions)."""
import threading
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import sqlalchemy as sa
from flask import Flask
from werkzeug.serving import make_server

from app import register_calendar_simulator
from app.calendars.models import CalendarConnection
from app.common.time import utcnow
from app.scheduling.models import BusyBlock
from calendar_sandbox import GoogleSimulator, standalone_app
from config import DevelopmentConfig, ProductionConfig, TestingConfig
from tests.conftest import assert_error
from tests.factories import BookingFactory, UserFactory
from tests.scheduling.conftest import iso, make_tutor

CLIENT_ID, CLIENT_SECRET = "sandbox-id.apps.googleusercontent.com", "sandbox-secret"


# --- wiring -------------------------------------------------------------------------------------------------------

def bare_app(**config):
    app = Flask("calendar-sandbox-mount")
    app.config.update(config)
    return app


def test_development_mounts_the_simulator(monkeypatch):
    monkeypatch.delenv("OAUTHLIB_INSECURE_TRANSPORT", raising=False)
    dev = bare_app(CALENDAR_SIMULATOR=True, GOOGLE_CLIENT_ID=CLIENT_ID, GOOGLE_CLIENT_SECRET=CLIENT_SECRET)
    register_calendar_simulator(dev)
    assert "calendar_sandbox" in dev.blueprints
    assert dev.extensions["calendar_sandbox"].notify is not None  # push notifications go out by themselves
    client = dev.test_client()
    page = client.get("/calendar-sandbox/google/o/oauth2/auth", query_string={
        "client_id": CLIENT_ID, "redirect_uri": "http://127.0.0.1:5000/cb", "state": "s1", "code_challenge": "c" * 43,
        "code_challenge_method": "S256"})
    assert page.status_code == 200 and b"Allow" in page.data
    wrong = client.get("/calendar-sandbox/google/o/oauth2/auth", query_string={"client_id": "other"})
    assert wrong.status_code == 400
    assert client.get("/calendar-sandbox/google/calendar/v3/calendars/primary/events").status_code == 401
    assert client.get("/calendar-sandbox/").status_code == 200
    import os

    assert os.environ["OAUTHLIB_INSECURE_TRANSPORT"] == "1"  # oauthlib's switch for an http token endpoint


def test_development_defaults_point_google_at_the_mounted_simulator():
    if not DevelopmentConfig.CALENDAR_SIMULATOR:
        pytest.skip("GOOGLE_CLIENT_ID or MS_CLIENT_ID is set in this environment: development talks to them")
    local = DevelopmentConfig._LOCAL
    assert DevelopmentConfig.GOOGLE_AUTH_URI == f"{local}/calendar-sandbox/google/o/oauth2/auth"
    assert DevelopmentConfig.GOOGLE_TOKEN_URI == f"{local}/calendar-sandbox/google/token"
    assert DevelopmentConfig.GOOGLE_CALENDAR_API_BASE == f"{local}/calendar-sandbox/google/calendar/v3/"
    assert DevelopmentConfig.CALENDAR_WEBHOOK_BASE_URL == local and DevelopmentConfig.CALENDAR_WEBHOOK_ALLOW_HTTP
    assert DevelopmentConfig.GOOGLE_CLIENT_ID and DevelopmentConfig.GOOGLE_CLIENT_SECRET


def test_tests_and_production_do_not_mount_it(app):
    assert "calendar_sandbox" not in app.blueprints
    assert TestingConfig.CALENDAR_SIMULATOR is False and ProductionConfig.CALENDAR_SIMULATOR is False
    assert ProductionConfig.CALENDAR_WEBHOOK_ALLOW_HTTP is False
    off = bare_app(CALENDAR_SIMULATOR=False)
    register_calendar_simulator(off)
    assert "calendar_sandbox" not in off.blueprints


def test_without_credentials_connecting_still_answers_503(client, auth, app):
    assert not app.config.get("GOOGLE_CLIENT_ID") and not app.config.get("MS_CLIENT_ID")
    user = UserFactory()
    for provider in ("google", "outlook"):
        response = client.post(f"/api/v1/calendar/connections/{provider}", headers=auth.headers(user))
        assert_error(response, 503)


@pytest.mark.parametrize("name", ["CALENDAR_SIMULATOR", "CALENDAR_WEBHOOK_ALLOW_HTTP"])
def test_production_refuses_the_simulator(monkeypatch, name):
    monkeypatch.setenv("SECRET_KEY", "s")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv(name, "1")
    with pytest.raises(RuntimeError, match=name):
        ProductionConfig.validate()


# --- end to end through HTTP ----------------------------------------------------------------------------------------

@pytest.fixture
def sandbox(app, monkeypatch):
    """The simulator served over real HTTP on a free port; the app's Google settings point at it, and its push
    notifications wait in ``outbox`` (the test client delivers them: the app under test has no socket)."""
    simulator = GoogleSimulator(CLIENT_ID, CLIENT_SECRET)
    server = make_server("127.0.0.1", 0, standalone_app(simulator), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    for key, value in {"GOOGLE_CLIENT_ID": CLIENT_ID, "GOOGLE_CLIENT_SECRET": CLIENT_SECRET,
                       "GOOGLE_AUTH_URI": f"{base}/google/o/oauth2/auth", "GOOGLE_TOKEN_URI": f"{base}/google/token",
                       "GOOGLE_CALENDAR_API_BASE": f"{base}/google/calendar/v3/",
                       "CALENDAR_WEBHOOK_BASE_URL": "http://localhost", "CALENDAR_WEBHOOK_ALLOW_HTTP": True}.items():
        monkeypatch.setitem(app.config, key, value)
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    simulator.base_url = base
    yield simulator
    server.shutdown()
    thread.join(5)


def deliver(client, simulator):
    """Post the simulator's pending notifications to the app, as Google would; their statuses."""
    pending, simulator.outbox[:] = list(simulator.outbox), []
    return [client.post(urlparse(url).path, headers=headers).status_code for url, headers in pending]


def connect(client, auth, user, simulator, account):
    started = client.post("/api/v1/calendar/connections/google", headers=auth.headers(user))
    assert started.status_code == 201, started.get_json()
    url = started.get_json()["authorization_url"]
    assert url.startswith(f"{simulator.base_url}/google/o/oauth2/auth?")
    session = requests.Session()
    session.trust_env = False
    consent = session.get(url, timeout=10)
    assert consent.status_code == 200 and "Allow" in consent.text
    query = {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}
    fields = {k: query.get(k, "") for k in ("client_id", "redirect_uri", "state", "scope", "code_challenge",
                                             "code_challenge_method")}
    allowed = session.post(url, data={**fields, "account": account, "decision": "allow"}, allow_redirects=False,
                           timeout=10)
    assert allowed.status_code == 302
    back = urlparse(allowed.headers["Location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == query["redirect_uri"]
    callback = client.get(back.path, query_string=back.query, headers=auth.headers(user))
    assert callback.status_code == 200, callback.get_json()
    return callback.get_json()


def slot_starts(client, tutor, day):
    response = client.get(f"/api/v1/tutors/{tutor.id}/slots", query_string={
        "start": iso(day), "end": iso(day + timedelta(days=1)), "duration": 60})
    assert response.status_code == 200, response.get_json()
    return {datetime.fromisoformat(slot["start"]) for slot in response.get_json()["slots"]}


def test_connect_book_move_cancel_and_pull_busy_through_the_simulator(client, auth, db, sandbox):
    tutor = make_tutor(zone="UTC", weekdays=range(7), start="08:00", end="20:00", session_lengths=[60],
                       slot_interval_minutes=60)
    student = UserFactory()
    day = (utcnow() + timedelta(days=3)).replace(hour=0, minute=0, second=0, microsecond=0)
    account = "tutor@sandbox.test"

    connection = connect(client, auth, tutor, sandbox, account)
    assert connection["status"] == "active" and connection["push"] is True
    assert connection["last_synced_at"] is not None  # the first pull ran (jobs run in-process here)
    assert [c["address"] for c in sandbox.channels.values()] == [
        "http://localhost/api/v1/calendar/notifications/google"]

    booking = BookingFactory(tutor=tutor, student=student, start_at=day + timedelta(hours=10), state="requested")
    assert client.post(f"/api/v1/bookings/{booking.id}/accept", headers=auth.headers(tutor)).status_code == 200
    [event] = sandbox.snapshot()[account]
    assert event["status"] == "confirmed" and event["start"]["dateTime"] == iso(day + timedelta(hours=10))
    assert event["summary"].startswith("Tutorhub: ") and student.email in [a["email"] for a in event["attendees"]]
    assert deliver(client, sandbox) == [204]  # Google announces our own change too: pulled, not busy (ours)

    moved = client.post(f"/api/v1/admin/bookings/{booking.id}/reschedule", json={"start": iso(day + timedelta(hours=12))},
                        headers=auth.headers(UserFactory(roles=["admin"])))
    assert moved.status_code == 200, moved.get_json()
    [event] = sandbox.snapshot()[account]
    assert event["start"]["dateTime"] == iso(day + timedelta(hours=12)) and event["status"] == "confirmed"

    cancelled = client.post(f"/api/v1/bookings/{booking.id}/cancel", json={"reason": "Trip"},
                            headers=auth.headers(tutor))
    assert cancelled.status_code == 200
    [event] = sandbox.snapshot()[account]
    assert event["status"] == "cancelled"
    assert set(deliver(client, sandbox)) == {204}
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BusyBlock)) == 0  # our events are not busy

    busy_at = day + timedelta(hours=15)
    assert busy_at in slot_starts(client, tutor, day)
    page = requests.post(f"{sandbox.base_url}/google/calendars/{account}/busy", allow_redirects=False, timeout=10,
                         data={"title": "Dentist", "start": busy_at.strftime("%Y-%m-%dT%H:%M"), "minutes": "60"})
    assert page.status_code == 302
    assert deliver(client, sandbox) == [204]
    db.session.expire_all()
    [block] = db.session.scalars(sa.select(BusyBlock)).all()
    assert (block.user_id, block.source, block.start_at, block.end_at) == (
        tutor.id, "google", busy_at, busy_at + timedelta(hours=1))
    assert busy_at not in slot_starts(client, tutor, day)

    # Removed on the sandbox page: the slot is offered again.
    requests.post(f"{sandbox.base_url}/google/calendars/{account}/events/{block.external_id}/delete", timeout=10)
    assert deliver(client, sandbox) == [204]
    assert busy_at in slot_starts(client, tutor, day)

    # Disconnecting stops the channel at the simulator.
    assert client.delete(f"/api/v1/calendar/connections/{connection['id']}",
                         headers=auth.headers(tutor)).status_code == 204
    assert sandbox.channels == {} and db.session.get(CalendarConnection, connection["id"]) is None


def test_wrong_channel_token_from_the_simulator_is_refused(client, auth, db, sandbox):
    tutor = make_tutor(zone="UTC")
    connect(client, auth, tutor, sandbox, "t2@sandbox.test")
    sandbox.add_busy("t2@sandbox.test", "Gym", utcnow() + timedelta(days=1), utcnow() + timedelta(days=1, hours=1))
    [(url, headers)] = sandbox.outbox
    response = client.post(urlparse(url).path, headers={**headers, "X-Goog-Channel-Token": "forged"})
    assert_error(response, 403)
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BusyBlock)) == 0


def test_an_expired_sync_token_at_the_simulator_means_a_full_resync(client, auth, db, sandbox):
    tutor = make_tutor(zone="UTC")
    connect(client, auth, tutor, sandbox, "t3@sandbox.test")
    start = (utcnow() + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    sandbox.expire_sync_tokens()
    sandbox.add_busy("t3@sandbox.test", "Gym", start, start + timedelta(hours=1))
    sandbox.requests.clear()
    assert deliver(client, sandbox) == [204]
    lists = [path for method, path in sandbox.requests if method == "GET"]
    assert len(lists) == 2  # the incremental list answered 410 fullSyncRequired, then the window in full
    db.session.expire_all()
    [block] = db.session.scalars(sa.select(BusyBlock)).all()
    assert (block.start_at, block.end_at) == (start, start + timedelta(hours=1))


# --- the Outlook simulator's sandbox page ---------------------------------------------------------------------------

def test_graph_sandbox_page_adds_and_removes_busy_time_and_notifies(monkeypatch):
    from calendar_sandbox.graph import in_process

    stub, session, _config = in_process()
    sent = []
    monkeypatch.setattr(stub, "notify", lambda sub, change, event_id: sent.append((sub, change, event_id)))
    monkeypatch.setattr("calendar_sandbox.graph.threading.Thread",
                        lambda target, **_kw: type("Now", (), {"start": staticmethod(target)}))
    stub.subscriptions["sub-9"] = {"id": "sub-9"}
    added = session.post(f"{stub.base_url}/sandbox/busy", data={"title": "Dentist", "start": "2026-12-10T10:00",
                                                                 "minutes": "90"}, allow_redirects=False)
    assert added.status_code == 303
    [event] = stub.events.values()
    assert (event["subject"], event["showAs"]) == ("Dentist", "busy")
    assert event["start"]["dateTime"].startswith("2026-12-10T10:00:00")
    assert event["end"]["dateTime"].startswith("2026-12-10T11:30:00")
    assert sent == [("sub-9", "created", event["id"])]
    page = session.get(f"{stub.base_url}/sandbox")
    assert page.status_code == 200 and "Dentist" in page.text
    assert session.post(f"{stub.base_url}/sandbox/busy", data={"start": "soon"}).status_code == 400
    removed = session.post(f"{stub.base_url}/sandbox/events/{event['id']}/delete", allow_redirects=False)
    assert removed.status_code == 303 and stub.events == {}
    assert sent[-1] == ("sub-9", "deleted", event["id"])
    assert session.post(f"{stub.base_url}/sandbox/events/nope/delete").status_code == 404
