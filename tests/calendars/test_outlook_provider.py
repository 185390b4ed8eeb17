"""The Outlook provider (msal + Microsoft Graph) against the local HTTPS stub: exact request sequences."""
import base64
import hashlib
import json
import socket
import threading
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from app.calendars.providers.base import (
    Channel,
    EventSpec,
    GrantRevoked,
    ProviderError,
    RateLimited,
    SyncTokenExpired,
)
from app.calendars.providers.outlook import (
    CATEGORY,
    KEY_PROPERTY_ID,
    SUBSCRIPTION_MAX_MINUTES,
    ChannelGone,
    OutlookNotConfigured,
    OutlookProvider,
    check_notifications,
    validation_response,
)
from calendar_sandbox.graph import LiveGraphStub, in_process

REDIRECT = "https://tutorhub.test/api/v1/calendar/connections/outlook/callback"
VERIFIER = "v" * 20 + "-verifier-of-the-oauth-state-0123456789"
DISCOVERY = ("GET", "/common/v2.0/.well-known/openid-configuration")
TOKEN = ("POST", "/common/oauth2/v2.0/token")
T0 = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)


def challenge(verifier):
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch):
    """No test here reaches the internet: msal's instance discovery or a stray Graph call would fail loudly."""
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if host not in ("127.0.0.1", "localhost"):
            raise AssertionError(f"a test tried to reach {host}")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture(scope="session")
def _live_graph():
    live = LiveGraphStub()
    yield live
    live.stop()


@pytest.fixture
def graph(_live_graph):
    _live_graph.stub.reset()
    return _live_graph.stub


@pytest.fixture
def provider(_live_graph, graph):
    session = requests.Session()
    session.trust_env = False  # else REQUESTS_CA_BUNDLE from the environment wins over ``verify`` (and proxies)
    session.verify = _live_graph.ca_file
    return OutlookProvider(_live_graph.config(), http=session)


@pytest.fixture
def tokens(provider, graph):
    """A connected account (code exchanged), with the stub's request log cleared."""
    code = graph.issue_code(challenge(VERIFIER), REDIRECT)
    connected = provider.exchange_code(code, VERIFIER, REDIRECT)
    graph.requests.clear()
    return connected


def spec(key="booking-41-tutor", **overrides):
    fields = {"key": key, "title": "Algebra with Sam", "start": T0, "end": T0 + timedelta(hours=1),
              "description": "Tutorhub session", "attendees": ["ada@example.test", "sam@example.test"],
              "participants": ["Ada Tutor (tutor)", "Sam Student (student)"],
              "link": "https://tutorhub.test/bookings/41"}
    return EventSpec(**{**fields, **overrides})


def test_the_loopback_guard_refuses_the_internet():
    with pytest.raises(AssertionError, match="login.microsoftonline.com"):
        requests.get("https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration", timeout=1)


def test_without_credentials_the_provider_is_not_configured(_live_graph):
    config = {"MS_CLIENT_ID": "", "MS_CLIENT_SECRET": None}
    provider = OutlookProvider(config)
    assert OutlookProvider.configured(config) is False
    with pytest.raises(OutlookNotConfigured, match="MS_CLIENT_ID"):
        provider.authorization_url("state", VERIFIER, REDIRECT)
    assert OutlookProvider.configured(_live_graph.config()) is True


def test_authorization_url_carries_state_pkce_and_least_privilege_scopes(provider, graph):
    url = provider.authorization_url("state-123", VERIFIER, REDIRECT)
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{graph.base_url}/common/oauth2/v2.0/authorize"
    assert query["state"] == "state-123"
    assert query["code_challenge"] == challenge(VERIFIER)
    assert query["code_challenge_method"] == "S256"
    assert query["client_id"] == graph.client_id and query["redirect_uri"] == REDIRECT
    assert query["response_type"] == "code"
    assert set(query["scope"].split()) == {"Calendars.ReadWrite", "User.Read", "offline_access", "openid", "profile"}
    assert "nonce" not in query
    assert graph.calls() == [DISCOVERY]  # no instance discovery at login.microsoftonline.com


def test_the_stub_consent_redirects_and_the_code_exchange_sends_the_verifier(provider, graph):
    url = provider.authorization_url("state-9", VERIFIER, REDIRECT)
    redirect = provider.http.get(url, allow_redirects=False)
    assert redirect.status_code == 302
    back = parse_qs(urlsplit(redirect.headers["Location"]).query)
    assert back["state"] == ["state-9"]
    graph.requests.clear()

    tokens = provider.exchange_code(back["code"][0], VERIFIER, REDIRECT)

    assert graph.calls() == [TOKEN, ("GET", "/v1.0/me")]
    form = graph.requests[0].body
    assert form["grant_type"] == "authorization_code" and form["code_verifier"] == VERIFIER
    assert form["client_secret"] == graph.client_secret and form["redirect_uri"] == REDIRECT
    assert tokens.access_token in graph.access_tokens and tokens.refresh_token in graph.refresh_tokens
    assert tokens.account_email == graph.email
    assert tokens.expires_at > datetime.now(UTC) + timedelta(minutes=50)
    assert "Calendars.ReadWrite" in tokens.scope
    cache = json.loads(tokens.extra["msal_cache"])
    assert cache["RefreshToken"] and cache["Account"]


def test_form_post_response_mode(_live_graph, provider, graph):
    provider.response_mode = "form_post"
    url = provider.authorization_url("state-7", VERIFIER, REDIRECT)
    assert parse_qs(urlsplit(url).query)["response_mode"] == ["form_post"]
    page = provider.http.get(url).text
    assert f'action="{REDIRECT}"' in page and 'name="state" value="state-7"' in page


def test_a_wrong_verifier_or_a_reused_code_is_refused(provider, graph):
    code = graph.issue_code(challenge(VERIFIER), REDIRECT)
    with pytest.raises(GrantRevoked, match="invalid_grant"):
        provider.exchange_code(code, "another-verifier-another-verifier-another-verifier", REDIRECT)
    code = graph.issue_code(challenge(VERIFIER), REDIRECT)
    provider.exchange_code(code, VERIFIER, REDIRECT)
    with pytest.raises(GrantRevoked):
        provider.exchange_code(code, VERIFIER, REDIRECT)


def test_refresh_goes_through_the_msal_cache(provider, graph, tokens):
    old_access, old_refresh, old_cache = tokens.access_token, tokens.refresh_token, tokens.extra["msal_cache"]

    fresh = provider.refresh(tokens)

    assert graph.calls() == [TOKEN]
    form = graph.requests[0].body
    assert form["grant_type"] == "refresh_token" and form["refresh_token"] == old_refresh
    assert fresh.access_token != old_access and fresh.access_token in graph.access_tokens
    assert fresh.refresh_token != old_refresh and fresh.extra["msal_cache"] != old_cache
    assert fresh.account_email == graph.email


def test_a_401_refreshes_once_and_retries_updating_the_tokens_in_place(provider, graph, tokens):
    graph.expire_access_tokens()
    old_access = tokens.access_token

    event_id = provider.upsert_event(tokens, spec())

    # the lookup by key (no id recorded) meets the 401 first
    assert graph.calls() == [("GET", "/v1.0/me/events"), TOKEN, ("GET", "/v1.0/me/events"), ("POST", "/v1.0/me/events")]
    assert tokens.access_token != old_access and event_id in graph.events


def test_create_twice_without_a_recorded_id_makes_one_event(provider, graph, tokens):
    first = provider.upsert_event(tokens, spec())
    again = provider.upsert_event(tokens, spec())  # a retried job that never stored the id

    assert first == again and len(graph.events) == 1
    assert graph.calls() == [("GET", "/v1.0/me/events"), ("POST", "/v1.0/me/events"), ("GET", "/v1.0/me/events"),
                             ("PATCH", f"/v1.0/me/events/{first}")]  # the retry finds the event by its key
    assert graph.requests[0].query == {
        "$filter": f"singleValueExtendedProperties/Any(ep: ep/id eq '{KEY_PROPERTY_ID}' and ep/value eq "
                   "'booking-41-tutor')", "$select": "id", "$top": "1"}
    body = graph.requests[1].body
    assert body["transactionId"] == "booking-41-tutor"
    assert body["subject"] == "Algebra with Sam" and CATEGORY in body["categories"]
    assert body["start"] == {"dateTime": "2026-12-08T09:00:00", "timeZone": "UTC"}
    assert "attendees" not in body and graph.mail == []  # Graph would invite them (there is no sendUpdates)
    assert body["body"]["content"] == ("Tutorhub session\nParticipants: Ada Tutor (tutor), Sam Student (student)"
                                       "\n\nhttps://tutorhub.test/bookings/41")
    assert body["singleValueExtendedProperties"][0]["value"] == "booking-41-tutor"


def test_a_known_event_is_patched(provider, graph, tokens):
    event_id = provider.upsert_event(tokens, spec())
    moved = spec(start=T0 + timedelta(days=1), end=T0 + timedelta(days=1, hours=1))

    assert provider.upsert_event(tokens, moved, external_id=event_id) == event_id

    assert graph.calls()[-1] == ("PATCH", f"/v1.0/me/events/{event_id}")
    assert graph.events[event_id]["start"]["dateTime"] == "2026-12-09T09:00:00"
    assert len(graph.events) == 1


def test_patching_an_event_deleted_in_outlook_creates_it_again_once(provider, graph, tokens):
    event_id = provider.upsert_event(tokens, spec())
    graph.remove_event(event_id)

    recreated = provider.upsert_event(tokens, spec(), external_id=event_id)
    again = provider.upsert_event(tokens, spec(), external_id=event_id)  # the job retried before storing the id

    assert recreated == again != event_id and list(graph.events) == [recreated]


def test_delete_twice_is_fine(provider, graph, tokens):
    event_id = provider.upsert_event(tokens, spec())
    provider.delete_event(tokens, event_id)
    provider.delete_event(tokens, event_id)
    assert graph.events == {}
    assert graph.calls()[-2:] == [("DELETE", f"/v1.0/me/events/{event_id}")] * 2
    assert graph.mail == []  # no attendees: no cancellation mailed


def test_the_stub_mails_attendees_as_graph_does(provider, graph, tokens):
    """What the provider avoids: an event with attendees mails each a request, an update, a cancellation."""
    address = {"emailAddress": {"address": "sam@example.test"}, "type": "required"}
    event_id = provider._graph(tokens, "POST", "/me/events", json={
        "subject": "x", "start": {"dateTime": "2026-12-08T09:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-08T10:00:00", "timeZone": "UTC"}, "attendees": [address]}).json()["id"]
    provider._graph(tokens, "PATCH", f"/me/events/{event_id}", json={"subject": "y"})
    provider.delete_event(tokens, event_id)
    assert graph.mail == [(kind, "sam@example.test", event_id) for kind in ("request", "update", "cancellation")]


def test_delta_full_then_incremental_then_expired(provider, graph, tokens):
    busy = graph.add_event("Dentist", T0, T0 + timedelta(hours=1))
    lunch = graph.add_event("Lunch", T0 + timedelta(hours=3), T0 + timedelta(hours=4))
    graph.add_event("Focus time", T0 + timedelta(hours=5), T0 + timedelta(hours=6), show_as="free")
    graph.add_event("Last year", T0 - timedelta(days=400), T0 - timedelta(days=399))  # outside the window
    start, end = T0 - timedelta(days=1), T0 + timedelta(days=30)

    changes, cursor = provider.busy_changes(tokens, None, start, end)

    assert [c[0] for c in graph.calls()] == ["GET", "GET"]
    first, second = graph.requests
    assert first.query == {"startDateTime": "2026-12-07T09:00:00Z", "endDateTime": "2027-01-07T09:00:00Z"}
    assert "$skiptoken" in second.query
    assert 'outlook.timezone="UTC"' in first.headers["Prefer"]
    by_id = {c.external_id: c for c in changes}
    assert len(changes) == 3
    assert by_id[busy].start == T0 and by_id[busy].end == T0 + timedelta(hours=1) and not by_id[busy].removed
    assert [c.removed for c in changes] == [False, False, True]  # "free" is not busy
    assert "$deltatoken=" in cursor

    graph.requests.clear()
    graph.remove_event(lunch)
    graph.change_event(busy, showAs="free")
    new = graph.add_event("Gym", T0 + timedelta(days=2), T0 + timedelta(days=2, hours=1))

    changes, cursor2 = provider.busy_changes(tokens, cursor, start, end)

    assert graph.calls() == [("GET", "/v1.0/me/calendarView/delta")] * 2
    assert "$deltatoken" in graph.requests[0].query and "startDateTime" not in graph.requests[0].query
    assert [(c.external_id, c.removed) for c in changes] == [(lunch, True), (busy, True), (new, False)]
    assert changes[0].start is None
    assert provider.busy_changes(tokens, cursor2, start, end)[0] == []

    graph.expire_delta_tokens()
    with pytest.raises(SyncTokenExpired):
        provider.busy_changes(tokens, cursor2, start, end)


def test_events_tutorhub_pushed_come_back_marked_ours(provider, graph, tokens):
    ours = provider.upsert_event(tokens, spec())
    theirs = graph.add_event("Dentist", T0 + timedelta(hours=2), T0 + timedelta(hours=3))

    changes, _ = provider.busy_changes(tokens, None, T0 - timedelta(days=1), T0 + timedelta(days=1))

    assert {c.external_id: c.ours for c in changes} == {ours: True, theirs: False}


def test_subscription_create_renew_delete(provider, graph, tokens):
    before = datetime.now(UTC)
    channel = provider.watch(tokens, "https://tutorhub.test/api/v1/calendar/notifications/outlook", "client-state-1")

    body = graph.requests[0].body
    assert graph.calls() == [("POST", "/v1.0/subscriptions")]
    assert body["changeType"] == "created,updated,deleted" and body["resource"] == "me/events"
    assert body["clientState"] == "client-state-1"
    assert body["notificationUrl"] == "https://tutorhub.test/api/v1/calendar/notifications/outlook"
    assert isinstance(channel, Channel) and channel.channel_id in graph.subscriptions
    assert channel.token == "client-state-1"
    assert before + timedelta(minutes=SUBSCRIPTION_MAX_MINUTES - 5) < channel.expires_at
    assert channel.expires_at <= datetime.now(UTC) + timedelta(minutes=SUBSCRIPTION_MAX_MINUTES)

    renewed = provider.renew(tokens, channel)
    assert graph.calls()[-1] == ("PATCH", f"/v1.0/subscriptions/{channel.channel_id}")
    assert renewed.channel_id == channel.channel_id and renewed.expires_at >= channel.expires_at

    provider.stop(tokens, channel)
    provider.stop(tokens, channel)  # already gone is fine
    assert graph.subscriptions == {}
    with pytest.raises(ChannelGone):
        provider.renew(tokens, channel)


def test_invalid_grant_is_a_revoked_grant(provider, graph, tokens):
    graph.revoke()
    with pytest.raises(GrantRevoked, match="invalid_grant"):
        provider.refresh(tokens)
    with pytest.raises(GrantRevoked):  # Graph's 401, then the refresh fails
        provider.delete_event(tokens, "AAMkEvent0001")


def test_a_401_after_a_refresh_is_a_revoked_grant(provider, graph, tokens):
    graph.fail_next(401, "/v1.0/me/events", code="InvalidAuthenticationToken")
    graph.fail_next(401, "/v1.0/me/events", code="InvalidAuthenticationToken")
    with pytest.raises(GrantRevoked, match="after a refresh"):
        provider.upsert_event(tokens, spec())
    assert graph.calls() == [("GET", "/v1.0/me/events"), TOKEN, ("GET", "/v1.0/me/events")]


def test_access_denied_is_a_revoked_grant(provider, graph, tokens):
    graph.fail_next(403, "/v1.0/me/events", code="ErrorAccessDenied")
    with pytest.raises(GrantRevoked, match="ErrorAccessDenied"):
        provider.upsert_event(tokens, spec())


def test_an_event_moved_out_of_the_window_is_no_longer_busy(provider, graph, tokens):
    start, end = T0 - timedelta(days=1), T0 + timedelta(days=1)
    event_id = graph.add_event("Dentist", T0, T0 + timedelta(hours=1))
    _, cursor = provider.busy_changes(tokens, None, start, end)
    # how Graph reports a change that left the round's window: the event with its times null
    graph.change_event(event_id, start={"dateTime": None, "timeZone": None}, end={"dateTime": None, "timeZone": None})

    changes, _ = provider.busy_changes(tokens, cursor, start, end)

    assert [(c.external_id, c.removed) for c in changes] == [(event_id, True)]


@pytest.mark.parametrize("status", [429, 503])
def test_throttling_with_retry_after_is_rate_limited(provider, graph, tokens, status):
    graph.fail_next(status, "/v1.0/me/calendarView/delta", headers={"Retry-After": "7"}, code="TooManyRequests")
    with pytest.raises(RateLimited) as caught:
        provider.busy_changes(tokens, None, T0, T0 + timedelta(days=1))
    assert caught.value.retry_after == 7


def test_server_errors_and_network_failures_are_provider_errors(_live_graph, provider, graph, tokens):
    graph.fail_next(500, "/v1.0/me/events", code="generalException")
    with pytest.raises(ProviderError) as caught:
        provider.upsert_event(tokens, spec())
    assert not isinstance(caught.value, RateLimited | GrantRevoked)

    graph.fail_next(503, "/v1.0/me/events", code="ServiceUnavailable")  # no Retry-After: retried by RQ
    with pytest.raises(ProviderError) as caught:
        provider.delete_event(tokens, "AAMkEvent0001")
    assert not isinstance(caught.value, RateLimited)

    unreachable = OutlookProvider(_live_graph.config(MS_GRAPH_BASE="https://127.0.0.1:9/v1.0"), http=provider.http)
    with pytest.raises(ProviderError, match="unreachable"):
        unreachable.delete_event(tokens, "AAMkEvent0001")


def test_validation_handshake():
    assert validation_response({"validationToken": "Validation: Token 123"}) == "Validation: Token 123"
    assert validation_response({}) is None


def test_notifications_with_a_wrong_client_state_are_dropped():
    body = {"value": [
        {"subscriptionId": "sub-1", "clientState": "secret-1", "changeType": "updated", "resource": "me/events/1"},
        {"subscriptionId": "sub-1", "clientState": "secret-1", "changeType": "created", "resource": "me/events/2"},
        {"subscriptionId": "sub-2", "clientState": "forged", "changeType": "deleted"},
        {"subscriptionId": "sub-3", "clientState": "secret-3"},  # not one of ours
        {"subscriptionId": "sub-4", "changeType": "deleted"},  # no clientState
    ]}
    expected = {"sub-1": "secret-1", "sub-2": "secret-2", "sub-4": "secret-4"}
    assert check_notifications(body, expected) == ["sub-1"]
    assert check_notifications({"value": []}, expected) == []
    with pytest.raises(ValueError):
        check_notifications({"nope": 1}, expected)


class Receiver:
    """A notification endpoint in the shape the framework's route will have, built on the two helpers."""

    def __init__(self, client_states):
        self.client_states, self.pulled = client_states, []
        self.server = make_server("127.0.0.1", 0, self, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}/notifications/outlook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def __call__(self, environ, start_response):
        request = Request(environ)
        token = validation_response(request.args)
        if token is not None:
            return Response(token, mimetype="text/plain")(environ, start_response)
        accepted = check_notifications(request.get_json(silent=True) or {"value": None}, self.client_states) \
            if request.is_json else []
        self.pulled.extend(accepted)
        return Response(status=202 if accepted else 403)(environ, start_response)

    def stop(self):
        self.server.shutdown()
        self.thread.join(5)


def test_graph_handshake_and_notifications_against_a_receiver(provider, graph, tokens):
    receiver = Receiver({})
    graph.validate_notification_urls = True
    try:
        channel = provider.watch(tokens, receiver.url, "client-state-2")
        receiver.client_states[channel.channel_id] = channel.token

        assert graph.notify(channel.channel_id).status_code == 202
        assert graph.notify(channel.channel_id, client_state="forged").status_code == 403
        assert receiver.pulled == [channel.channel_id]

        with pytest.raises(ProviderError, match="ValidationError"):  # an endpoint that does not echo the token
            provider.watch(tokens, "http://127.0.0.1:9/notifications/outlook", "client-state-3")
    finally:
        receiver.stop()


def test_the_stub_also_runs_at_the_transport_for_benchmarks():
    graph, session, config = in_process()
    provider = OutlookProvider(config, http=session)
    tokens = provider.exchange_code(graph.issue_code(challenge(VERIFIER), REDIRECT), VERIFIER, REDIRECT)
    event_id = provider.upsert_event(tokens, spec())
    graph.add_event("Dentist", T0 + timedelta(hours=2), T0 + timedelta(hours=3))

    changes, cursor = provider.busy_changes(tokens, None, T0 - timedelta(days=1), T0 + timedelta(days=1))

    assert {c.external_id for c in changes if c.ours} == {event_id} and len(changes) == 2
    assert graph.calls() == [DISCOVERY, TOKEN, ("GET", "/v1.0/me"), ("GET", "/v1.0/me/events"),
                             ("POST", "/v1.0/me/events"), ("GET", "/v1.0/me/calendarView/delta")]
    assert cursor.startswith("https://graph.stub/v1.0/me/calendarView/delta?$deltatoken=")
