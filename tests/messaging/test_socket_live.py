"""Real python-socketio clients against a live threaded server: chat, receipts, typing, presence, bad input."""
import time
import uuid

import pytest
import requests
import socketio

from app.extensions import db as _db
from app.messaging import presence
from app.messaging.models import Message


def cid():
    return uuid.uuid4().hex


def send(client, conversation_id, body, client_id=None, **extra):
    return client.call("message:send", {"conversation_id": conversation_id, "body": body,
                                        "client_id": client_id or cid(), **extra})


def test_two_users_chat_with_typing_and_read_receipts(connect, pair, student, tutor):
    alice, bob = connect(student), connect(tutor)

    typing = alice.call("typing", {"conversation_id": pair.id})
    assert typing == {"ok": True, "sent": True}
    assert bob.wait_for("typing") == {"conversation_id": pair.id, "user_id": student.id, "is_typing": True}
    assert alice.call("typing", {"conversation_id": pair.id}) == {"ok": True, "sent": False}  # throttled

    ack = send(alice, pair.id, "Hi, ready for algebra?")
    assert ack["ok"] is True and ack["duplicate"] is False
    stored = ack["message"]
    assert stored["id"] and stored["sender_id"] == student.id and stored["body"] == "Hi, ready for algebra?"
    assert bob.wait_for("message:new") == stored  # via bob's user room: no join needed
    notification = bob.wait_for("notification:new")
    assert notification["data"]["message_id"] == stored["id"]

    reply = send(bob, pair.id, "Yes!")["message"]
    assert alice.wait_for("message:new", lambda m: m["id"] == reply["id"])["body"] == "Yes!"

    receipt = bob.call("message:read", {"conversation_id": pair.id, "up_to_message_id": stored["id"]})
    assert receipt["ok"] is True and receipt["receipt"]["last_read_message_id"] == stored["id"]
    assert alice.wait_for("message:read") == {"conversation_id": pair.id, "user_id": tutor.id,
                                              "last_read_message_id": stored["id"]}
    time.sleep(0.2)
    assert alice.received("message:new") == [reply]  # the sender's own socket gets the ack, not an echo


def test_repeated_client_id_returns_the_same_message(connect, pair, student, tutor):
    alice, bob = connect(student), connect(tutor)
    first = send(alice, pair.id, "only once", client_id="retry-me")
    second = send(alice, pair.id, "only once", client_id="retry-me")
    assert second["message"] == first["message"] and second["duplicate"] is True
    bob.wait_for("message:new")
    time.sleep(0.2)
    assert len(bob.received("message:new")) == 1
    assert _db.session.query(Message).count() == 1


def test_reconnect_and_fetch_history_nothing_lost_or_duplicated(connect, live_server, auth, pair, student, tutor):
    alice, bob = connect(student), connect(tutor)
    acked = [send(alice, pair.id, f"before {i}")["message"]["id"] for i in range(3)]
    bob.disconnect()
    offline_ids = [send(alice, pair.id, f"while away {i}", client_id=f"away-{i}")["message"]["id"] for i in range(4)]
    # alice's connection drops too, she reconnects and retries the last two sends (no ack seen, say)
    alice.disconnect()
    alice = connect(student)
    retried = [send(alice, pair.id, f"while away {i}", client_id=f"away-{i}")["message"]["id"] for i in (2, 3)]
    assert retried == offline_ids[2:]
    acked += offline_ids

    bob = connect(tutor)
    headers = auth.headers(tutor)
    seen, before = [], None
    while True:
        params = {"limit": 3} | ({"before": before} if before else {})
        page = requests.get(f"{live_server}/api/v1/conversations/{pair.id}/messages", params=params,
                            headers=headers, timeout=5).json()
        seen += [m["id"] for m in page["messages"]]
        before = page["next_before"]
        if before is None:
            break
    assert seen == sorted(acked, reverse=True)
    assert len(seen) == len(set(seen)) == 7

    live = send(alice, pair.id, "welcome back")["message"]
    assert bob.wait_for("message:new")["id"] == live["id"]


def test_outsider_cannot_join_read_or_send(connect, pair, student, outsider):
    alice, eve = connect(student), connect(outsider)
    joined = eve.call("conversation:join", {"conversation_id": pair.id})
    assert joined["ok"] is False and joined["error"]["code"] == 404
    sent = send(eve, pair.id, "let me in")
    assert sent["ok"] is False and sent["error"]["code"] == 404
    read = eve.call("message:read", {"conversation_id": pair.id, "up_to_message_id": 1})
    assert read["error"]["code"] == 404
    assert eve.call("typing", {"conversation_id": pair.id})["error"]["code"] == 404
    send(alice, pair.id, "private")
    time.sleep(0.3)
    assert eve.received("message:new") == []
    assert eve.sio.connected


def test_joined_room_delivers_once(connect, pair, student, tutor):
    alice, bob = connect(student), connect(tutor)
    assert bob.call("conversation:join", {"conversation_id": pair.id}) == {"ok": True, "conversation_id": pair.id}
    message = send(alice, pair.id, "once")["message"]
    bob.wait_for("message:new")
    time.sleep(0.2)
    assert bob.received("message:new") == [message]
    assert bob.call("conversation:leave", {"conversation_id": pair.id})["ok"] is True


@pytest.mark.parametrize("payload, code", [
    ("just a string", 422),
    (123, 422),
    ([1, 2, 3], 422),
    ({}, 422),
    ({"conversation_id": "1", "body": "x", "client_id": "a"}, 422),
    ({"conversation_id": 1, "body": 5, "client_id": "a"}, 422),
    ({"conversation_id": 1, "body": "x"}, 422),  # client_id missing
    ({"conversation_id": 1, "body": "", "client_id": "a"}, 422),
    ({"conversation_id": 1, "body": "x" * 4001, "client_id": "a"}, 422),
    ({"conversation_id": 1, "body": "x", "client_id": "a", "attachment_ids": "nope"}, 422),
    ({"conversation_id": 1, "body": "x", "client_id": "a", "surprise": True}, 422),
    ({"conversation_id": 10**12, "body": "x", "client_id": "a"}, 422),
])
def test_malformed_message_payloads_get_error_acks(connect, pair, student, payload, code):
    alice = connect(student)
    ack = alice.call("message:send", payload)
    assert ack["ok"] is False
    assert ack["error"]["code"] == code and ack["error"]["status"] == "Unprocessable Entity"
    assert alice.sio.connected
    assert send(alice, pair.id, "still fine")["ok"] is True


def test_malformed_payloads_on_every_event(connect, student):
    alice = connect(student)
    for event in ("message:read", "conversation:join", "conversation:leave", "typing", "presence:get"):
        for payload in ("x", 1, [], {"conversation_id": None}):
            ack = alice.call(event, payload)
            assert ack["ok"] is False and ack["error"]["code"] == 422, (event, payload, ack)
    assert alice.call("presence:heartbeat") == {"ok": True}
    assert alice.sio.connected


def test_flood_is_rate_limited_and_socket_stays_up(app, connect, pair, student, monkeypatch):
    monkeypatch.setitem(app.config, "MESSAGE_RATE_LIMIT", 5)
    alice = connect(student)
    acks = [send(alice, pair.id, f"spam {i}") for i in range(8)]
    assert [a["ok"] for a in acks[:5]] == [True] * 5
    refused = [a for a in acks[5:] if not a["ok"]]
    assert refused and all(a["error"]["code"] == 429 for a in refused)
    assert alice.sio.connected
    assert alice.call("typing", {"conversation_id": pair.id})["ok"] is True
    assert _db.session.query(Message).count() == sum(1 for a in acks if a["ok"])


def test_blocked_sender_gets_403_ack(connect, client, auth, pair, student, tutor):
    client.post(f"/api/v1/users/{student.id}/block", headers=auth.headers(tutor))
    alice = connect(student)
    ack = send(alice, pair.id, "hello?")
    assert ack["ok"] is False and ack["error"]["code"] == 403 and ack["error"]["status"] == "Forbidden"


def test_presence_online_and_offline(connect, pair, student, tutor):
    bob = connect(tutor)
    alice = connect(student)
    assert bob.wait_for("presence", lambda p: p["online"]) == {"user_id": student.id, "online": True}
    assert alice.call("presence:get", {"user_ids": [tutor.id, 999]}) == {"ok": True, "online": {str(tutor.id): True}}
    alice.disconnect()
    assert bob.wait_for("presence", lambda p: not p["online"]) == {"user_id": student.id, "online": False}


def test_presence_expires_without_heartbeat(app, monkeypatch, student):
    now = time.time()
    monkeypatch.setattr(presence.time, "time", lambda: now)
    presence.mark_online(student.id, "sid-crashed")
    assert presence.online([student.id]) == {student.id: True}
    monkeypatch.setattr(presence.time, "time", lambda: now + presence.PRESENCE_TTL - 1)
    presence.heartbeat({"sid-crashed": student.id})  # a live process keeps it fresh
    monkeypatch.setattr(presence.time, "time", lambda: now + 2 * presence.PRESENCE_TTL - 2)
    assert presence.online([student.id]) == {student.id: True}
    # the process died: no more heartbeats, and the user reads as offline once the expiry passes
    monkeypatch.setattr(presence.time, "time", lambda: now + 2 * presence.PRESENCE_TTL + 1)
    assert presence.online([student.id]) == {student.id: False}


def test_connect_refused_without_valid_token(live_server, auth, student):
    client = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(live_server, auth={"token": "not-a-token"}, transports=["websocket"], wait_timeout=5)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(live_server, transports=["websocket"], wait_timeout=5)


def test_long_polling_transport_works_too(connect, pair, student, tutor):
    alice = connect(student, transports=("polling",))
    bob = connect(tutor)
    message = send(alice, pair.id, "over polling")["message"]
    assert bob.wait_for("message:new")["id"] == message["id"]
