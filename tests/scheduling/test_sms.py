"""Booking SMS go through the HTTP provider gateway (a local stub server stands in for the provider)."""
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from zoneinfo import ZoneInfo

import pytest

from app.common.time import utcnow
from tests.factories import UserFactory
from tests.scheduling.conftest import iso, make_tutor


@pytest.fixture
def sms_provider(app, monkeypatch):
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"auth": self.headers["Authorization"], **json.loads(body)})
            self.send_response(202)
            self.end_headers()

        def log_message(self, *_args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setitem(app.config, "SMS_BACKEND", "http")
    monkeypatch.setitem(app.config, "SMS_API_URL", f"http://127.0.0.1:{server.server_port}/messages")
    monkeypatch.setitem(app.config, "SMS_API_KEY", "stub-key")
    yield received
    server.shutdown()


def test_confirmation_sms_only_for_opted_in_users(client, auth, sms_provider):
    tutor = make_tutor(zone="UTC", weekdays=range(7), start="00:00", end="24:00", instant_booking=True,
                       session_lengths=[60], slot_interval_minutes=60)
    tutor.phone_number = "+12125550100"  # has a phone but did not opt in
    student = UserFactory(phone_number="+819012345678", preferences={"sms_reminders": True}, timezone="Asia/Tokyo")
    start = (utcnow() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    response = client.post("/api/v1/bookings", json={"tutor_id": tutor.id, "start": iso(start),
                                                     "duration": 60, "subject": "calculus"}, headers=auth.headers(student))
    assert response.status_code == 201
    assert [(m["to"], m["auth"]) for m in sms_provider] == [("+819012345678", "Bearer stub-key")]
    local = start.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%H:%M")
    assert "Session confirmed" in sms_provider[0]["body"] and f"{local} (Asia/Tokyo)" in sms_provider[0]["body"]
    # The reminders wait in the outbox for their time (deliver_after in the future).
