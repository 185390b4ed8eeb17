"""The Socket.IO runtime pieces under the chat path: direct event handlers, batched presence refresh, GC."""
import gc
import time

import flask

from app.common import sockets
from app.common.runtime import freeze_startup_heap
from app.extensions import socketio
from app.messaging import presence


def test_direct_handler_runs_in_an_app_context_without_a_request_context(app):
    seen = []

    @sockets.on_event("test:probe")
    def probe(sid, data):
        seen.append((sid, data, flask.has_app_context(), flask.has_request_context(), flask.current_app.name))
        return {"ok": True}

    try:
        handler = socketio.server.handlers["/"]["test:probe"]
        environ = {"flask.app": app}
        original = socketio.server.get_environ
        socketio.server.get_environ = lambda sid, namespace=None: environ if sid == "known" else None
        try:
            assert handler("known", {"x": 1}) == {"ok": True}
            assert handler("unknown", {"x": 2}) is None  # a sid this server has no record of: ignored
        finally:
            socketio.server.get_environ = original
        assert seen == [("known", {"x": 1}, True, False, app.name)]
        # kept for Flask-SocketIO to register again on the next init_app (a new server)
        assert any(entry[0] == "test:probe" for entry in socketio.handlers)
    finally:
        socketio.handlers[:] = [entry for entry in socketio.handlers if entry[0] != "test:probe"]
        socketio.server.handlers["/"].pop("test:probe", None)


def test_messaging_events_are_registered_on_the_server(app):
    for name in ("message:send", "message:read", "conversation:join", "typing", "presence:heartbeat"):
        assert name in socketio.server.handlers["/"]


def test_refresh_heartbeats_every_socket_in_batches(app, monkeypatch, student, tutor):
    now = time.time()
    monkeypatch.setattr(presence.time, "time", lambda: now)
    monkeypatch.setattr(presence, "HEARTBEAT_BATCH", 2)
    live = {"s1": student.id, "s2": student.id, "s3": tutor.id, "s4": tutor.id, "s5": tutor.id}
    pauses = []
    presence.refresh(live, pauses.append)
    assert pauses == [0, 0]  # three batches, a pause between two
    assert presence.online([student.id, tutor.id]) == {student.id: True, tutor.id: True}
    monkeypatch.setattr(presence.time, "time", lambda: now + presence.PRESENCE_TTL + 1)
    assert presence.online([student.id, tutor.id]) == {student.id: False, tutor.id: False}


def test_refresh_of_no_socket_does_nothing(app):
    pauses = []
    presence.refresh({}, pauses.append)
    assert pauses == []


def test_freeze_startup_heap_moves_objects_out_of_collections():
    try:
        freeze_startup_heap()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
