"""A real local HTTP receiver for webhook deliveries, and helpers to register webhooks through the API."""
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.webhooks import targets
from tests.factories import UserFactory

# Names the tests resolve without DNS (anything else, IP literals included, goes to the real resolver).
FAKE_DNS = {"hooks.example.com": ["93.184.215.14"], "rebind.example.com": ["10.0.0.5"],
            "mixed.example.com": ["93.184.215.14", "127.0.0.1"], "nowhere.example.com": []}


class Receiver:
    """Records each POST (headers, raw body) and answers the next status of ``statuses`` (then 200)."""

    def __init__(self):
        self.requests = []
        self.statuses = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                if 300 <= status < 400:
                    self.send_header("Location", "http://127.0.0.1:1/elsewhere")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_dns(monkeypatch):
    real = targets.resolve
    monkeypatch.setattr(targets, "resolve", lambda host, port: FAKE_DNS[host] if host in FAKE_DNS else real(host, port))


@pytest.fixture
def allow_private(app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_PRIVATE", True)


@pytest.fixture
def receiver(allow_private):
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def owner(db):
    return UserFactory()


class Hooks:
    def __init__(self, client, auth):
        self.client, self.auth = client, auth

    def create(self, user, url, events=("booking.confirmed",), **extra):
        return self.client.post("/api/v1/webhooks", headers=self.auth.headers(user),
                                json={"url": url, "events": list(events), **extra})

    def made(self, user, url, events=("booking.confirmed",), **extra):
        response = self.create(user, url, events, **extra)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def deliveries(self, user, webhook_id, **query):
        response = self.client.get(f"/api/v1/webhooks/{webhook_id}/deliveries", headers=self.auth.headers(user),
                                   query_string=query)
        assert response.status_code == 200, response.get_json()
        return response.get_json()


@pytest.fixture
def hooks(client, auth):
    return Hooks(client, auth)
