"""Calendar sync harness: a local OAuth token endpoint (real HTTP, PKCE checked), Google's API through a recording
``HttpMockSequence`` (the real googleapiclient code runs, static discovery), async RQ queues run by a SimpleWorker
on the test Redis (real Redis when TEST_REDIS_URL is set)."""
import base64
import hashlib
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
from googleapiclient.http import HttpMockSequence
from rq import Queue, SimpleWorker

from app.calendars.connections import seal_tokens
from app.calendars.models import CalendarConnection
from app.calendars.providers.base import Tokens
from app.common.time import utcnow
from tests.scheduling.conftest import _subjects, freeze  # noqa: F401  (subject catalogue, frozen clock)


class TokenServer:
    """Google's token endpoint: authorization codes (the PKCE verifier must hash to the registered challenge)
    and refresh tokens (``revoked`` makes them answer invalid_grant)."""

    def __init__(self):
        self.codes, self.requests, self.revoked, self.issued = {}, [], False, 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode()).items()}
                server.requests.append(form)
                status, body = server.answer(form)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/token"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def expect_code(self, code, challenge):
        self.codes[code] = challenge

    def _tokens(self, refresh_token=None):
        self.issued += 1
        body = {"access_token": f"access-{self.issued}", "expires_in": 3600, "token_type": "Bearer",
                "scope": "https://www.googleapis.com/auth/calendar.events.owned"}
        if refresh_token:
            body["refresh_token"] = refresh_token
        return body

    def answer(self, form):
        if form.get("grant_type") == "authorization_code":
            challenge = self.codes.pop(form.get("code"), None)
            verifier = form.get("code_verifier", "")
            computed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
            if challenge is None or computed != challenge:
                return 400, {"error": "invalid_grant", "error_description": "Bad code or verifier."}
            return 200, self._tokens(refresh_token="refresh-1")
        if form.get("grant_type") == "refresh_token":
            if self.revoked:
                return 400, {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
            return 200, self._tokens()
        return 400, {"error": "unsupported_grant_type"}

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def token_server():
    server = TokenServer()
    yield server
    server.close()


@pytest.fixture
def google(app, monkeypatch, token_server):
    """Google configured against the local token endpoint; the API transport set per test with ``google_api``."""
    monkeypatch.setitem(app.config, "GOOGLE_CLIENT_ID", "client-id.apps.googleusercontent.com")
    monkeypatch.setitem(app.config, "GOOGLE_CLIENT_SECRET", "client-secret")
    monkeypatch.setitem(app.config, "GOOGLE_TOKEN_URI", token_server.url)
    monkeypatch.setitem(app.config, "CALENDAR_RETRY_SECONDS", [0, 0, 0])
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the local token endpoint speaks http
    return token_server


class RecordingHttp(HttpMockSequence):
    """HttpMockSequence that keeps every request, so a test asserts the exact sequence."""

    def __init__(self, responses):
        super().__init__(responses)
        self.requests = []

    def request(self, uri, method="GET", body=None, headers=None, redirections=1, connection_type=None):
        self.requests.append({"method": method, "uri": uri, "body": json.loads(body) if body else None,
                              "headers": headers or {}})
        return super().request(uri, method, body, headers, redirections, connection_type)

    def calls(self):
        """(method, path, query) of each request, the query as a dict of single values."""
        out = []
        for item in self.requests:
            parsed = urlparse(item["uri"])
            out.append((item["method"], parsed.path, {k: v[0] for k, v in parse_qs(parsed.query).items()}))
        return out

    @property
    def exhausted(self):
        return not self._iterable


@pytest.fixture
def google_api(app):
    """google_api(*responses) → the RecordingHttp every Google call of this test goes through. A response is
    (status, body dict or str) or (status, body, extra headers)."""
    transports = app.extensions.setdefault("calendar_transports", {})

    def install(*responses):
        sequence = []
        for response in responses:
            status, body, *extra = response
            headers = {"status": str(status), **(extra[0] if extra else {})}
            sequence.append((headers, json.dumps(body) if isinstance(body, dict) else body))
        http = RecordingHttp(sequence)
        transports["google"] = lambda: http
        return http

    yield install
    transports.pop("google", None)


@pytest.fixture
def worker(app, monkeypatch):
    """Queues made asynchronous (jobs wait in Redis); ``worker()`` runs them all with an RQ SimpleWorker in this
    process (burst), like the production worker. Returns the queues."""
    connection = app.extensions["redis"]
    asynchronous = {name: Queue(name, connection=connection, is_async=True) for name in ("high", "default", "low")}
    monkeypatch.setitem(app.extensions, "queues", asynchronous)

    def run():
        from app.extensions import db

        SimpleWorker(list(asynchronous.values()), connection=connection).work(burst=True)
        db.session.rollback()
        db.session.expire_all()

    run.queues = asynchronous
    return run


def make_connection(user, provider="google", expires_in=timedelta(hours=1), **fields):
    """A stored connection with a valid (not expiring) grant, as the OAuth callback leaves it."""
    from app.extensions import db

    tokens = Tokens(access_token="access-0", refresh_token="refresh-0", expires_at=utcnow() + expires_in)
    connection = CalendarConnection(user_id=user.id, provider=provider, tokens_encrypted=seal_tokens(tokens),
                                    **fields)
    db.session.add(connection)
    db.session.commit()
    return connection
