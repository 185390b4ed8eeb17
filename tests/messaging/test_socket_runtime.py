"""The Socket.IO runtime pieces under the chat path: handlers on the server itself, batched presence refresh, GC."""
import gc
import time

import flask
import pytest
from marshmallow import Schema, fields

from app.common import sockets
from app.common.runtime import freeze_startup_heap
from app.common.transactions import in_unit_of_work
from app.extensions import socketio
from app.messaging import presence


class ProbeSchema(Schema):
    x = fields.Integer(required=True)


def test_event_handler_runs_in_an_app_context_and_a_unit_of_work_without_a_request_context(app):
    """Handlers sit on python-socketio's server directly: no per-event request context or cookie session."""
    seen = []

    def probe(user_id, sid, data):
        seen.append((user_id, sid, data, flask.has_app_context(), flask.has_request_context(),
                     flask.current_app.name, in_unit_of_work()))
        return {"ok": True}

    handler = sockets.register_event(app, "test:probe", ProbeSchema, probe)
    try:
        assert socketio.server.handlers["/"]["test:probe"] is handler
        sockets.remember_connection("known", 7, {"jti": "probe-token", "tv": 1})
        assert handler("known", {"x": 1}) == {"ok": True}
        assert handler("unknown", {"x": 2})["error"]["code"] == 401  # a sid this process did not authenticate
        assert seen == [(7, "known", {"x": 1}, True, False, app.name, True)]
    finally:
        sockets.forget_connection("known")
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


def test_full_collections_run_on_schedule_and_not_automatically(monkeypatch):
    from app.common.runtime import (
        NO_AUTOMATIC_FULL_COLLECTION,
        schedule_full_collections,
    )

    before = gc.get_threshold()
    collected, slept, tasks = [], [], []

    class Stop(Exception):
        pass

    def sleep(seconds):
        slept.append(seconds)
        if len(slept) > 2:
            raise Stop

    monkeypatch.setattr(gc, "collect", lambda *args: collected.append(args) or 0)
    try:
        schedule_full_collections(45, lambda fn: tasks.append(fn) or "task", sleep)
        assert gc.get_threshold() == (before[0], before[1], NO_AUTOMATIC_FULL_COLLECTION)
        assert len(tasks) == 1
        with pytest.raises(Stop):
            tasks[0]()
        assert slept == [45, 45, 45]
        assert collected == [(), ()]  # a full collection after each completed wait
    finally:
        gc.set_threshold(*before)


@pytest.mark.parametrize("interval", [0, None])
def test_no_schedule_leaves_pythons_collections_alone(interval):
    before = gc.get_threshold()
    from app.common.runtime import schedule_full_collections

    assert schedule_full_collections(interval, lambda fn: pytest.fail("no task"), lambda s: None) is None
    assert gc.get_threshold() == before


def test_middle_threshold_is_set_with_or_without_the_schedule():
    from app.common.runtime import (
        NO_AUTOMATIC_FULL_COLLECTION,
        schedule_full_collections,
    )

    before = gc.get_threshold()
    try:
        assert schedule_full_collections(0, lambda fn: pytest.fail("no task"), lambda s: None, 3) is None
        assert gc.get_threshold() == (before[0], 3, before[2])
        schedule_full_collections(60, lambda fn: "task", lambda s: None, 4)
        assert gc.get_threshold() == (before[0], 4, NO_AUTOMATIC_FULL_COLLECTION)
    finally:
        gc.set_threshold(*before)


def test_eventlet_listener_accepts_connections_with_nodelay():
    """The server's sockets send small frames at once (no Nagle wait behind an unacknowledged one)."""
    import socket

    from app.common.runtime import nodelay_listener

    listener = nodelay_listener("127.0.0.1", 0)
    try:
        assert listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        client = socket.create_connection(listener.getsockname(), timeout=5)
        connection, _ = listener.accept()
        try:
            assert connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        finally:
            connection.close()
            client.close()
    finally:
        listener.close()
