"""SMS through the HTTP backend, against a local stub provider: the real requests code path runs."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.common.transactions import unit_of_work
from app.notifications import services as notifications
from app.notifications.models import OutboxMessage


@pytest.fixture
def sms_provider(app, monkeypatch):
    received = []
    state = {"status": 201}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append({"path": self.path, "auth": self.headers["Authorization"], "body": body})
            self.send_response(state["status"])
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"id": "msg_1"}')

        def log_message(self, *_args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setitem(app.config, "SMS_BACKEND", "http")
    monkeypatch.setitem(app.config, "SMS_API_URL", f"http://127.0.0.1:{server.server_port}/v1/messages")
    monkeypatch.setitem(app.config, "SMS_API_KEY", "sms-test-key")
    yield received, state
    server.shutdown()
    server.server_close()


def test_sms_is_posted_to_the_provider(db, sms_provider):
    received, _state = sms_provider
    with unit_of_work():
        message = notifications.queue_sms("+14155550123", "Your session starts in 1 hour.")

    assert received == [{"path": "/v1/messages", "auth": "Bearer sms-test-key",
                         "body": {"from": "Tutorhub", "to": "+14155550123", "body": "Your session starts in 1 hour."}}]
    db.session.expire_all()
    assert db.session.get(OutboxMessage, message.id).status == "sent"


def test_provider_error_is_retried(db, sms_provider):
    received, state = sms_provider
    state["status"] = 503
    with unit_of_work():
        message = notifications.queue_sms("+14155550123", "Hello")

    db.session.expire_all()
    row = db.session.get(OutboxMessage, message.id)
    assert len(received) == 1
    assert row.status == "pending" and row.attempts == 1 and "503" in row.last_error


def test_console_backend_logs(db, caplog):
    with caplog.at_level("INFO", logger="app.notifications.sms"), unit_of_work():
        notifications.queue_sms("+14155550123", "Hello from the console")
    assert "Hello from the console" in caplog.text
