"""Connecting a calendar: OAuth with PKCE against a local token endpoint, one-time states bound to the user,
encrypted grants, listing, disconnecting (the channel stopped), and 503 when Google is not configured."""
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import sqlalchemy as sa

from app.calendars import services
from app.calendars.connections import open_tokens
from app.calendars.models import CalendarConnection, CalendarOAuthState
from app.common.time import utcnow
from app.scheduling.models import BusyBlock
from tests.calendars.conftest import make_connection
from tests.conftest import assert_error
from tests.factories import UserFactory

BASE = "/api/v1/calendar"


def start(client, auth, user):
    response = client.post(f"{BASE}/connections/google", headers=auth.headers(user))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    url = urlparse(body["authorization_url"])
    return body, {key: values[0] for key, values in parse_qs(url.query).items()}, url


def test_connect_with_pkce_stores_encrypted_grant(client, auth, db, google, worker):
    user = UserFactory()
    body, query, url = start(client, auth, user)
    assert f"{url.scheme}://{url.netloc}{url.path}" == "https://accounts.google.com/o/oauth2/auth"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["scope"] == "https://www.googleapis.com/auth/calendar.events.owned"
    assert query["access_type"] == "offline" and query["response_type"] == "code"
    assert query["redirect_uri"] == "http://localhost/api/v1/calendar/oauth/google/callback"
    assert query["client_id"] == "client-id.apps.googleusercontent.com" and body["expires_at"]
    google.expect_code("the-code", query["code_challenge"])

    response = client.get(f"{BASE}/oauth/google/callback", query_string={"state": query["state"], "code": "the-code",
                          "scope": query["scope"]}, headers=auth.headers(user))
    assert response.status_code == 200, response.get_json()
    connection = response.get_json()
    assert connection["provider"] == "google" and connection["status"] == "active"
    assert connection["broken_reason"] is None and connection["push"] is False
    [exchange] = google.requests
    assert exchange["grant_type"] == "authorization_code" and len(exchange["code_verifier"]) >= 43
    assert exchange["redirect_uri"] == query["redirect_uri"]

    row = db.session.get(CalendarConnection, connection["id"])
    assert "access-1" not in row.tokens_encrypted and "refresh-1" not in row.tokens_encrypted
    tokens = open_tokens(row)
    assert (tokens.access_token, tokens.refresh_token) == ("access-1", "refresh-1")
    assert tokens.expires_at > utcnow() + timedelta(minutes=50)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarOAuthState)) == 0
    # The first pull is queued (calendar.connected → start_calendar_sync), not run in the request.
    assert [job.func_name for job in worker.queues["default"].get_jobs()] == ["jobs.tasks.start_calendar_sync"]

    # The state was used: a second callback with it is refused and changes nothing.
    again = client.get(f"{BASE}/oauth/google/callback", query_string={"state": query["state"], "code": "the-code"},
                       headers=auth.headers(user))
    assert "state" in assert_error(again, 422)["errors"]

    listed = client.get(f"{BASE}/connections", headers=auth.headers(user))
    assert listed.status_code == 200 and [c["id"] for c in listed.get_json()] == [connection["id"]]
    assert "X-Pagination" in listed.headers


def test_callback_refuses_bad_states_and_stores_nothing(client, auth, db, google, freeze):
    user, other = UserFactory(), UserFactory()
    _body, query, _url = start(client, auth, user)
    google.expect_code("code", query["code_challenge"])
    callback = f"{BASE}/oauth/google/callback"

    assert_error(client.get(callback, query_string={"state": "forged", "code": "code"}, headers=auth.headers(user)),
                 422)
    # Another user's state: as unknown to them.
    assert_error(client.get(callback, query_string={"state": query["state"], "code": "code"},
                            headers=auth.headers(other)), 422)
    # Consent refused at Google.
    body = assert_error(client.get(callback, query_string={"state": query["state"], "error": "access_denied"},
                                   headers=auth.headers(user)), 422)
    assert body["errors"]["error"] == ["access_denied"]
    # A code the token endpoint refuses (wrong code for this verifier).
    body = assert_error(client.get(callback, query_string={"state": query["state"], "code": "other"},
                                   headers=auth.headers(user)), 422)
    assert "code" in body["errors"]
    # Bad input: no state; an oversized code; unknown provider; no login.
    assert "state" in assert_error(client.get(callback, query_string={"code": "code"}, headers=auth.headers(user)),
                                   422)["errors"]
    assert "code" in assert_error(client.get(callback, query_string={"state": query["state"], "code": "x" * 2001},
                                             headers=auth.headers(user)), 422)["errors"]
    assert_error(client.get(f"{BASE}/oauth/yahoo/callback", query_string={"state": "s", "code": "c"},
                            headers=auth.headers(user)), 404)
    assert_error(client.get(callback, query_string={"state": query["state"], "code": "code"}), 401)
    # Expired: ten minutes later the state no longer works.
    freeze(utcnow() + timedelta(minutes=11))
    assert_error(client.get(callback, query_string={"state": query["state"], "code": "code"},
                            headers=auth.headers(user)), 422, "expired")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarConnection)) == 0
    assert len(google.requests) == 1  # only the refused code reached Google


def test_start_bad_input_and_auth(client, auth, google):
    user = UserFactory()
    assert_error(client.post(f"{BASE}/connections/google"), 401)
    assert_error(client.post(f"{BASE}/connections/yahoo", headers=auth.headers(user)), 404)


def test_not_configured_answers_503(client, auth, app, monkeypatch):
    monkeypatch.setitem(app.config, "GOOGLE_CLIENT_ID", None)
    user = UserFactory()
    assert_error(client.post(f"{BASE}/connections/google", headers=auth.headers(user)), 503, "GOOGLE_CLIENT_ID")
    assert_error(client.get(f"{BASE}/oauth/google/callback", query_string={"state": "s", "code": "c"},
                            headers=auth.headers(user)), 503)
    # Everything else still works.
    assert client.get(f"{BASE}/connections", headers=auth.headers(user)).get_json() == []


def test_list_shows_only_mine_with_status(client, auth, db):
    user, other = UserFactory(), UserFactory()
    mine = make_connection(user, status="broken", broken_reason="Google revoked the grant (invalid_grant)")
    make_connection(other)
    body = client.get(f"{BASE}/connections", headers=auth.headers(user)).get_json()
    assert [(c["id"], c["status"], c["broken_reason"]) for c in body] == [
        (mine.id, "broken", "Google revoked the grant (invalid_grant)")]
    assert_error(client.get(f"{BASE}/connections"), 401)
    assert_error(client.get(f"{BASE}/connections", query_string={"page_size": 0}, headers=auth.headers(user)), 422)


def test_delete_stops_channel_and_drops_busy_time(client, auth, db, google, google_api):
    user, other = UserFactory(), UserFactory()
    connection = make_connection(user, channel_id="chan-1", channel_resource_id="res-1",
                                 channel_expires_at=utcnow() + timedelta(days=3))
    now = utcnow()
    db.session.add(BusyBlock(user_id=user.id, source="google", external_id="ev1", start_at=now + timedelta(hours=1),
                             end_at=now + timedelta(hours=2)))
    db.session.add(BusyBlock(user_id=user.id, source="manual", start_at=now + timedelta(hours=3),
                             end_at=now + timedelta(hours=4)))
    db.session.commit()
    http = google_api((204, ""))

    assert_error(client.delete(f"{BASE}/connections/{connection.id}", headers=auth.headers(other)), 404)
    assert_error(client.delete(f"{BASE}/connections/{connection.id}"), 401)
    assert_error(client.delete(f"{BASE}/connections/999999", headers=auth.headers(user)), 404)
    assert http.requests == []
    assert client.delete(f"{BASE}/connections/{connection.id}", headers=auth.headers(user)).status_code == 204
    assert http.calls() == [("POST", "/calendar/v3/channels/stop", {})]
    assert http.requests[0]["body"] == {"id": "chan-1", "resourceId": "res-1"}
    assert http.requests[0]["headers"]["authorization"] == "Bearer access-0"
    db.session.expire_all()
    assert db.session.get(CalendarConnection, connection.id) is None
    assert db.session.scalars(sa.select(BusyBlock.source)).all() == ["manual"]
    assert_error(client.delete(f"{BASE}/connections/{connection.id}", headers=auth.headers(user)), 404)


def test_reconnect_repairs_broken_connection(client, auth, db, google):
    user = UserFactory()
    broken = make_connection(user, status="broken", broken_reason="revoked", broken_notified_at=utcnow())
    _body, query, _url = start(client, auth, user)
    google.expect_code("c2", query["code_challenge"])
    response = client.get(f"{BASE}/oauth/google/callback", query_string={"state": query["state"], "code": "c2"},
                          headers=auth.headers(user))
    assert response.status_code == 200 and response.get_json()["id"] == broken.id
    db.session.expire_all()
    row = db.session.get(CalendarConnection, broken.id)
    assert (row.status, row.broken_reason, row.broken_notified_at) == ("active", None, None)


def test_rotation_keeps_grants_readable(app, db, monkeypatch):
    user = UserFactory()
    connection = make_connection(user)
    old = connection.tokens_encrypted
    monkeypatch.setitem(app.config, "DATA_ENCRYPTION_KEYS", ["a-new-key-0123456789", app.config["SECRET_KEY"]])
    assert open_tokens(connection).access_token == "access-0"  # old key still opens it
    assert services.rotate_tokens() == 1
    db.session.commit()
    assert connection.tokens_encrypted != old
    monkeypatch.setitem(app.config, "DATA_ENCRYPTION_KEYS", ["a-new-key-0123456789"])
    assert open_tokens(connection).access_token == "access-0"


def test_an_unreachable_identity_platform_answers_503_not_500(client, auth, app, monkeypatch):
    """Building the Outlook authorization URL needs msal's tenant discovery: the identity platform down (or its
    certificate not trusted) is a 503 with the standard body and Retry-After, and no state is kept."""
    monkeypatch.setitem(app.config, "MS_CLIENT_ID", "client-id")
    monkeypatch.setitem(app.config, "MS_CLIENT_SECRET", "client-secret")
    monkeypatch.setitem(app.config, "MS_AUTHORITY_BASE", "https://127.0.0.1:9")  # nothing listens there
    monkeypatch.setitem(app.config, "MS_TIMEOUT_SECONDS", 2)
    response = client.post(f"{BASE}/connections/outlook", headers=auth.headers(UserFactory()))
    body = assert_error(response, 503, "unavailable")
    assert response.headers["Retry-After"] and "127.0.0.1" not in body["message"]
    from app.extensions import db

    assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarOAuthState)) == 0
