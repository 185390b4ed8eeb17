"""Two server processes share Socket.IO through the Redis message queue: each delivers the other's messages.

Needs a real Redis (TEST_REDIS_URL); skipped without one, failed instead under CI=true.
"""
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.messaging.conftest import ChatClient

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TEST_REDIS_URL")
IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture
def redis_url():
    if not REDIS_URL:
        if IN_CI:
            pytest.fail("TEST_REDIS_URL is required under CI=true for the two-process test")
        pytest.skip("needs a real Redis: set TEST_REDIS_URL")
    return REDIS_URL


@pytest.fixture
def servers(app, redis_url):
    """Two `tests.messaging.serve` processes on the test database and one Redis channel of their own."""
    from app.extensions import db

    channel = f"tutorhub-test-{uuid.uuid4().hex}"
    env = dict(os.environ, DATABASE_URL=db.engine.url.render_as_string(hide_password=False),
               REDIS_URL=redis_url, SOCKETIO_MESSAGE_QUEUE=redis_url, SOCKETIO_CHANNEL=channel,
               PYTHONPATH=str(ROOT))
    processes, urls = [], []
    try:
        for _ in range(2):
            process = subprocess.Popen([sys.executable, "-m", "tests.messaging.serve"], cwd=ROOT, env=env,
                                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            processes.append(process)
            line = process.stdout.readline()
            assert line.startswith("PORT "), f"server did not start: {line!r}"
            urls.append(f"http://127.0.0.1:{int(line.split()[1])}")
        yield urls, channel
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


def test_delivery_across_processes(servers, redis_url, auth, pair, student, tutor):
    (url_a, url_b), channel = servers
    alice = ChatClient(url_a, auth.tokens(student)["access_token"])
    bob = ChatClient(url_b, auth.tokens(tutor)["access_token"])
    try:
        ack = alice.call("message:send", {"conversation_id": pair.id, "body": "across", "client_id": "x-1"})
        assert ack["ok"] is True
        assert bob.wait_for("message:new", timeout=10) == ack["message"]

        reply = bob.call("message:send", {"conversation_id": pair.id, "body": "back", "client_id": "x-2"})
        assert alice.wait_for("message:new", timeout=10)["id"] == reply["message"]["id"]
        bob.call("typing", {"conversation_id": pair.id})
        assert alice.wait_for("typing", timeout=10)["user_id"] == tutor.id

        # Any process with the queue (an RQ worker, say) can emit to a connected user.
        from flask_socketio import SocketIO

        emitter = SocketIO(message_queue=redis_url, channel=channel, async_mode="threading")
        emitter.emit("notification:new", {"id": 0, "title": "from a worker"}, to=f"user:{tutor.id}")
        assert bob.wait_for("notification:new", lambda n: n["title"] == "from a worker", timeout=10)
    finally:
        alice.disconnect()
        bob.disconnect()


def _wait_disconnected(chat_client, timeout=10):
    import time

    deadline = time.monotonic() + timeout
    while chat_client.sio.connected and time.monotonic() < deadline:
        time.sleep(0.05)
    return not chat_client.sio.connected


def test_an_ended_session_disconnects_its_socket_in_the_other_process(servers, auth, student, tutor):
    """Logout and a password change on server A disconnect the user's sockets held by server B (the queue)."""
    import requests

    (url_a, url_b), _channel = servers
    first, second = auth.tokens(student), auth.tokens(student)
    on_b = ChatClient(url_b, first["access_token"])
    other_device = ChatClient(url_b, second["access_token"])
    bystander = ChatClient(url_b, auth.tokens(tutor)["access_token"])
    try:
        logout = requests.post(f"{url_a}/api/v1/auth/logout", timeout=10,
                               headers={"Authorization": f"Bearer {first['access_token']}"})
        assert logout.status_code == 204
        assert _wait_disconnected(on_b)
        assert other_device.sio.connected

        change = requests.patch(f"{url_a}/api/v1/auth/password", timeout=10,
                                headers={"Authorization": f"Bearer {second['access_token']}"},
                                json={"current_password": "a perfectly fine passphrase",
                                      "new_password": "copper-lantern-orchard"})
        assert change.status_code == 200, change.text
        assert _wait_disconnected(other_device)
        assert bystander.sio.connected
    finally:
        for chat_client in (on_b, other_device, bystander):
            chat_client.disconnect()
