"""The one Socket.IO convention (app.common.sockets): connection auth, schema, unit of work, error acks."""
import pytest
from marshmallow import Schema, fields

from app.common import sockets
from app.common.errors import Conflict
from app.common.events import EventBus, publish
from app.extensions import db as _db
from app.extensions import socketio
from app.users.models import User
from tests.factories import UserFactory


def test_connect_with_valid_token_joins_user_room(app, auth):
    user = UserFactory()
    token = auth.tokens(user)["access_token"]
    client = socketio.test_client(app, auth={"token": token})
    assert client.is_connected()
    client.get_received()
    sockets.emit("test:ping", {"n": 1}, sockets.user_room(user.id))
    assert [(e["name"], e["args"]) for e in client.get_received()] == [("test:ping", [{"n": 1}])]
    client.disconnect()


def test_connect_without_token_is_refused(app):
    client = socketio.test_client(app)
    assert not client.is_connected()


def test_connect_with_refresh_token_is_refused(app, auth):
    user = UserFactory()
    client = socketio.test_client(app, auth={"token": auth.tokens(user)["refresh_token"]})
    assert not client.is_connected()


class BioSchema(Schema):
    bio = fields.String(required=True)
    fail = fields.String()


@pytest.fixture
def probe(app, monkeypatch):
    """A ``test:bio`` event on the live server: it writes the caller's bio and publishes ``test.bio_changed``.

    ``fail``: "conflict" raises a DomainError after the write, "crash" an unexpected exception."""
    bus = EventBus()
    monkeypatch.setitem(app.extensions, "events", bus)  # only this test's subscribers
    delivered = []
    bus.subscribe("test.bio_changed", lambda **payload: delivered.append(payload))

    def change_bio(user_id, sid, data):
        _db.session.get(User, user_id).bio = data["bio"]
        publish("test.bio_changed", user_id=user_id, sid=sid)
        if data.get("fail") == "conflict":
            raise Conflict("Not now.", errors={"bio": ["Busy."]})
        if data.get("fail") == "crash":
            raise RuntimeError("boom")
        return {"ok": True, "bio": data["bio"]}

    sockets.register_event(app, "test:bio", BioSchema, change_bio)
    yield delivered
    socketio.server.handlers["/"].pop("test:bio", None)


@pytest.fixture
def connected(app, auth):
    user = UserFactory(bio="before")
    client = socketio.test_client(app, auth={"token": auth.tokens(user)["access_token"]})
    assert client.is_connected()
    yield user, client
    client.disconnect()


def _bio(user_id):
    _db.session.expire_all()
    return _db.session.get(User, user_id).bio


def test_handler_runs_in_a_unit_of_work_and_events_follow_the_commit(probe, connected):
    user, client = connected
    ack = client.emit("test:bio", {"bio": "after"}, callback=True)
    assert ack == {"ok": True, "bio": "after"}
    assert _bio(user.id) == "after"
    assert len(probe) == 1 and probe[0]["user_id"] == user.id and probe[0]["sid"]


def test_domain_error_is_an_error_ack_and_rolls_back(probe, connected):
    user, client = connected
    ack = client.emit("test:bio", {"bio": "after", "fail": "conflict"}, callback=True)
    assert ack == {"ok": False, "error": {"code": 409, "status": "Conflict", "message": "Not now.",
                                          "errors": {"bio": ["Busy."]}}}
    assert _bio(user.id) == "before" and probe == []
    assert client.is_connected()


def test_unexpected_error_is_a_500_ack_and_rolls_back(probe, connected, caplog):
    user, client = connected
    ack = client.emit("test:bio", {"bio": "after", "fail": "crash"}, callback=True)
    assert ack["ok"] is False and ack["error"]["code"] == 500
    assert "boom" not in str(ack)  # no internals in the ack; the log has them
    assert "test:bio failed" in caplog.text
    assert _bio(user.id) == "before" and probe == []
    assert client.is_connected()


@pytest.mark.parametrize("payload", [{}, {"bio": 5}, {"bio": "x", "unknown": 1}, "text", [1], 7])
def test_invalid_payload_is_a_422_ack_and_never_reaches_the_handler(probe, connected, payload):
    user, client = connected
    ack = client.emit("test:bio", payload, callback=True)
    assert ack["ok"] is False and ack["error"]["code"] == 422 and ack["error"]["status"] == "Unprocessable Entity"
    assert ack["error"]["errors"]
    assert _bio(user.id) == "before" and probe == []


def test_an_unknown_connection_gets_a_401_ack(app, probe):
    handler = socketio.server.handlers["/"]["test:bio"]
    assert handler("no-such-sid", {"bio": "x"})["error"]["code"] == 401
    assert probe == []


def test_emit_to_no_room_does_nothing_and_a_broken_queue_is_logged(app, monkeypatch, caplog):
    calls = []
    monkeypatch.setattr(socketio, "emit", lambda *args, **kwargs: calls.append(args))
    sockets.emit("test:nobody", {}, [])
    assert calls == []

    def broken(*_args, **_kwargs):
        raise ConnectionError("message queue down")

    monkeypatch.setattr(socketio, "emit", broken)
    sockets.emit("test:somebody", {}, ["user:1"])  # logged, never raised
    assert "Could not emit test:somebody" in caplog.text
