"""Messaging fixtures: a student, a tutor and an outsider; a live threaded Socket.IO server; real clients."""
import threading
import time
from collections import defaultdict

import pytest
import socketio
from werkzeug.serving import make_server

from app.common.transactions import unit_of_work
from tests.factories import UserFactory


def committed(fn, *args, **kwargs):
    """Call a service in its own unit of work (committed, its events delivered), as a view or a job does."""
    with unit_of_work():
        return fn(*args, **kwargs)


def send(*args, **kwargs):
    """services.send_message in a unit of work of its own."""
    from app.messaging import services

    return committed(services.send_message, *args, **kwargs)


@pytest.fixture
def student(db):
    return UserFactory(full_name="Sam Student", roles=["student"])


@pytest.fixture
def tutor(db):
    return UserFactory(full_name="Tina Tutor", roles=["tutor"])


@pytest.fixture
def outsider(db):
    return UserFactory(full_name="Olly Outsider", roles=["student"])


@pytest.fixture
def pair(student, tutor):
    from app.messaging import services

    conversation, _ = committed(services.get_or_create_pair, student.id, tutor.id)
    return conversation


@pytest.fixture(scope="session")
def _live_server(app):
    """The app served by werkzeug in threads on 127.0.0.1:<free port> (Socket.IO threading mode)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    # Clients on this machine send the server's own origin (websocket-client does): accepted like CORS_ORIGINS.
    thread = threading.Thread(target=server.serve_forever, daemon=True, name="live-server")
    thread.start()
    yield url
    server.shutdown()
    thread.join(5)


@pytest.fixture
def live_server(_live_server):
    """The live server's URL, with the Socket.IO server undone from any earlier Flask-SocketIO test_client.

    test_client() patches the shared server instance (packets to real clients are dropped, handlers run
    synchronously); removing those instance attributes gives back the real methods.
    """
    from app.extensions import socketio as server_socketio

    server = server_socketio.server
    for name in ("_send_packet", "_send_eio_packet"):
        server.__dict__.pop(name, None)
    server.async_handlers = True
    server.eio.async_handlers = True
    return _live_server


class ChatClient:
    """A python-socketio client that records every event it receives."""

    def __init__(self, url, token, transports=("websocket",)):
        self.events = defaultdict(list)
        self._cond = threading.Condition()
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("*", self._record)
        self.sio.connect(url, auth={"token": token}, transports=list(transports), wait_timeout=5)

    def _record(self, event, *args):
        with self._cond:
            self.events[event].append(args[0] if args else None)
            self._cond.notify_all()

    def call(self, event, data=None, timeout=5):
        if data is None:
            return self.sio.call(event, timeout=timeout)
        return self.sio.call(event, data, timeout=timeout)

    def wait_for(self, event, predicate=lambda _data: True, timeout=5):
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for data in self.events[event]:
                    if predicate(data):
                        return data
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no {event!r} event matching within {timeout}s; got {dict(self.events)}")
                self._cond.wait(remaining)

    def received(self, event):
        with self._cond:
            return list(self.events[event])

    def disconnect(self):
        if self.sio.connected:
            self.sio.disconnect()


@pytest.fixture
def connect(live_server, auth):
    """connect(user) -> a connected ChatClient; all are disconnected at the end of the test."""
    clients = []

    def _connect(user, **kwargs):
        client = ChatClient(live_server, auth.tokens(user)["access_token"], **kwargs)
        clients.append(client)
        return client

    yield _connect
    for client in clients:
        client.disconnect()
    time.sleep(0.05)  # let the server finish its disconnect handlers before tables are emptied
