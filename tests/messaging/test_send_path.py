"""The message:send hot path: guarded insert, idempotency through the unique key, refusal order, notifications
written by INSERT…SELECT, events after commit only, and the Redis history list."""
import threading
import uuid

import pytest
import sqlalchemy as sa

from app.common.errors import Conflict, Forbidden, NotFound, TooManyRequests
from app.common.transactions import unit_of_work
from app.extensions import socketio
from app.messaging import cache, messages, queries, services
from app.messaging.models import Message
from app.notifications.models import Notification
from tests.conftest import assert_error
from tests.factories import UserFactory
from tests.messaging.conftest import committed, send


def _count(db, model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.mark.postgres
def test_concurrent_sends_with_one_client_id_store_one_message(app, db, pair, student):
    """Retries racing each other (several sockets of one user, say): one row, every caller gets that row."""
    sender_id, conversation_id = student.id, pair.id
    db.session.commit()
    barrier, results, errors = threading.Barrier(6), [], []

    def racer():
        with app.app_context():
            try:
                barrier.wait(5)
                results.append(send(sender_id, conversation_id, "only once", "race-1"))
            except Exception as error:  # noqa: BLE001 (reported below)
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=racer) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert errors == []
    assert len({message["id"] for message, _ in results}) == 1
    assert sorted(created for _, created in results) == [False] * 5 + [True]
    assert _count(db, Message) == 1
    assert _count(db, Notification) == 1


def test_client_id_of_another_conversation_is_409(db, pair, student, tutor, outsider):
    other, _ = committed(services.get_or_create_pair, student.id, outsider.id)
    send(student.id, pair.id, "here", "cid-1")
    with pytest.raises(Conflict):
        send(student.id, other.id, "there", "cid-1")
    assert _count(db, Message) == 1


def test_refusal_order_outsider_404_before_rate_limit(app, db, pair, outsider, monkeypatch):
    """A non-participant is told 404 and uses up none of their message allowance."""
    monkeypatch.setitem(app.config, "MESSAGE_RATE_LIMIT", 1)
    for i in range(3):
        with pytest.raises(NotFound):
            send(outsider.id, pair.id, f"let me in {i}", f"x-{i}")
    mine, _ = committed(services.get_or_create_pair, outsider.id, UserFactory().id)
    assert send(outsider.id, mine.id, "allowed", "x-ok")[1] is True


def test_retry_of_a_stored_message_wins_over_rate_limit_and_block(app, db, pair, student, tutor, monkeypatch):
    monkeypatch.setitem(app.config, "MESSAGE_RATE_LIMIT", 1)
    stored, created = send(student.id, pair.id, "first", "keep-1")
    assert created is True
    with pytest.raises(TooManyRequests):
        send(student.id, pair.id, "second", "keep-2")
    again, created = send(student.id, pair.id, "first", "keep-1")
    assert (again, created) == (stored, False)
    committed(services.block, tutor.id, student.id)
    assert send(student.id, pair.id, "first", "keep-1") == (stored, False)
    # an empty retry of a stored message answers the message too (the client_id decides, as before)
    assert send(student.id, pair.id, "", "keep-1") == (stored, False)
    assert _count(db, Message) == 1


def test_rate_limited_send_stores_and_notifies_nothing(app, db, pair, student, monkeypatch):
    monkeypatch.setitem(app.config, "MESSAGE_RATE_LIMIT", 2)
    for i in range(2):
        send(student.id, pair.id, f"m{i}", f"r-{i}")
    with pytest.raises(TooManyRequests):
        send(student.id, pair.id, "m2", "r-2")
    assert _count(db, Message) == 2 and _count(db, Notification) == 2


def test_block_applies_to_the_very_next_send_and_unblock_too(db, pair, student, tutor):
    send(student.id, pair.id, "before", "b-1")
    committed(services.block, tutor.id, student.id)
    with pytest.raises(Forbidden):
        send(student.id, pair.id, "during", "b-2")
    assert send(tutor.id, pair.id, "the blocker still writes", "b-3")[1] is True
    committed(services.unblock, tutor.id, student.id)
    assert send(student.id, pair.id, "after", "b-2")[1] is True
    assert [m.body for m in db.session.scalars(sa.select(Message).order_by(Message.id))] == [
        "before", "the blocker still writes", "after"]


def test_block_in_a_third_conversation_does_not_refuse(db, student, tutor, outsider):
    """Only a block by a participant of this conversation refuses the message."""
    conversation, _ = committed(services.get_or_create_pair, student.id, tutor.id)
    committed(services.block, outsider.id, student.id)
    assert send(student.id, conversation.id, "fine", "t-1")[1] is True


def test_participant_added_later_receives_messages_and_notifications(connect, db, student, tutor, outsider):
    from tests.factories import BookingFactory

    booking = BookingFactory(student=student)
    conversation = committed(services.add_booking_conversation, booking.id, [student.id, tutor.id])
    alice, olly = connect(student), connect(outsider)
    send(student.id, conversation.id, "before olly", "p-1")
    committed(services.add_booking_conversation, booking.id, [student.id, tutor.id, outsider.id])
    ack = alice.call("message:send", {"conversation_id": conversation.id, "body": "hi olly", "client_id": "p-2"})
    assert ack["ok"] is True
    assert olly.wait_for("message:new")["id"] == ack["message"]["id"]  # "before olly" never reached olly
    assert olly.wait_for("notification:new")["data"]["message_id"] == ack["message"]["id"]
    sent = olly.call("message:send", {"conversation_id": conversation.id, "body": "hello", "client_id": "p-3"})
    assert sent["ok"] is True
    assert alice.wait_for("message:new", lambda m: m["id"] == sent["message"]["id"])["body"] == "hello"


def test_live_notification_matches_the_stored_one(connect, client, auth, pair, student, tutor):
    alice, bob = connect(student), connect(tutor)
    ack = alice.call("message:send", {"conversation_id": pair.id, "body": "x" * 300, "client_id": "n-1"})
    live = bob.wait_for("notification:new")
    [stored] = client.get("/api/v1/notifications", headers=auth.headers(tutor)).get_json()
    assert live == stored
    assert live["title"] == "New message from Sam Student" and live["body"] == "x" * 140
    assert live["data"] == {"conversation_id": pair.id, "message_id": ack["message"]["id"], "sender_id": student.id}


def test_long_sender_name_title_is_cut_to_200(db, pair, student, tutor):
    student.full_name = "N" * 120
    db.session.commit()
    send(student.id, pair.id, "hi", "t-1")
    title = db.session.scalar(sa.select(Notification.title))
    assert title == ("New message from " + "N" * 120)[:200]


def test_socket_block_refuses_then_unblock_allows(connect, client, auth, pair, student, tutor):
    alice, bob = connect(student), connect(tutor)
    assert alice.call("message:send", {"conversation_id": pair.id, "body": "1", "client_id": "s-1"})["ok"] is True
    assert client.post(f"/api/v1/users/{student.id}/block", headers=auth.headers(tutor)).status_code == 204
    refused = alice.call("message:send", {"conversation_id": pair.id, "body": "2", "client_id": "s-2"})
    assert refused["ok"] is False and refused["error"]["code"] == 403
    assert client.delete(f"/api/v1/users/{student.id}/block", headers=auth.headers(tutor)).status_code == 204
    assert alice.call("message:send", {"conversation_id": pair.id, "body": "2", "client_id": "s-2"})["ok"] is True
    assert [m["body"] for m in bob.received("message:new")] in (["1"], ["1", "2"])


def test_a_send_rolled_back_with_its_unit_of_work_stores_and_announces_nothing(app, auth, db, pair, student,
                                                                              tutor):
    listener = socketio.test_client(app, auth={"token": auth.tokens(tutor)["access_token"]})
    listener.get_received()

    class Boom(Exception):
        pass

    with pytest.raises(Boom), unit_of_work():
        db.session.execute(sa.select(1))  # a transaction is open (a REST request): the send joins it
        services.send_message(student.id, pair.id, "never", "rb-1")
        raise Boom
    assert listener.get_received() == []
    assert _count(db, Message) == 0 and _count(db, Notification) == 0
    assert send(student.id, pair.id, "now", "rb-1")[1] is True
    assert [e["name"] for e in listener.get_received()] == ["notification:new", "message:new"]
    listener.disconnect()


# ---------------------------------------------------------------- history list in Redis

def _history(client, auth, user, conversation_id, **query):
    return client.get(f"/api/v1/conversations/{conversation_id}/messages", query_string=query,
                      headers=auth.headers(user)).get_json()


def _stamp(db, conversation_id):
    from app.messaging.models import Conversation

    return db.session.scalar(sa.select(Conversation.last_message_id).where(Conversation.id == conversation_id))


def test_history_is_served_from_the_cache_while_nothing_was_written(client, auth, pair, student, tutor,
                                                                     monkeypatch):
    for i in range(3):
        send(student.id, pair.id, f"m{i}")
    first = _history(client, auth, tutor, pair.id)  # fills the copy
    assert [m["body"] for m in first["messages"]] == ["m2", "m1", "m0"] and first["next_before"] is None

    def no_database(*_args):
        raise AssertionError("read the database although the cached copy is current")

    with monkeypatch.context() as patch:
        patch.setattr(messages, "_from_database", no_database)
        assert _history(client, auth, tutor, pair.id) == first
        assert _history(client, auth, student, pair.id, limit=2)["next_before"] == first["messages"][1]["id"]
    send(tutor.id, pair.id, "m3")  # changes the stamp: the copy is not served any more
    assert [m["body"] for m in _history(client, auth, student, pair.id)["messages"]] == ["m3", "m2", "m1", "m0"]


def test_every_message_changes_the_stamp_even_an_older_one(db, pair, student, tutor):
    first, _ = send(student.id, pair.id, "a")
    assert _stamp(db, pair.id) == first["id"]
    second, _ = send(tutor.id, pair.id, "b")
    assert _stamp(db, pair.id) == second["id"]
    # A message committed after a newer one (two processes) still moves the stamp: it is set, never max'ed.
    from app.messaging.models import Conversation

    db.session.execute(sa.update(Conversation).where(Conversation.id == pair.id).values(last_message_id=first["id"]))
    db.session.commit()
    assert _stamp(db, pair.id) == first["id"]


def test_history_pages_past_the_cached_size(app, client, auth, pair, student, tutor, monkeypatch):
    monkeypatch.setitem(app.config, "MESSAGE_RATE_LIMIT", 1000)
    for i in range(cache.HISTORY_SIZE + 5):
        send(student.id, pair.id, f"m{i}")
    for _ in range(2):  # filled, then served from the cache
        page = _history(client, auth, tutor, pair.id)
        assert [m["body"] for m in page["messages"]] == [f"m{i}" for i in reversed(range(5, cache.HISTORY_SIZE + 5))]
    assert cache.recent(pair.id, _stamp(app.extensions["sqlalchemy"], pair.id))["more"] is True
    older = _history(client, auth, tutor, pair.id, before=page["next_before"])
    assert [m["body"] for m in older["messages"]] == ["m4", "m3", "m2", "m1", "m0"]
    assert older["next_before"] is None


def test_history_cache_of_an_empty_conversation_then_first_message(db, client, auth, pair, student, tutor):
    assert _history(client, auth, tutor, pair.id)["messages"] == []
    assert cache.recent(pair.id, None) == {"stamp": None, "items": [], "more": False}
    send(student.id, pair.id, "first")
    assert cache.recent(pair.id, _stamp(db, pair.id)) is None
    assert [m["body"] for m in _history(client, auth, tutor, pair.id)["messages"]] == ["first"]


def test_history_fill_that_raced_a_write_is_never_served(db, client, auth, pair, student, tutor):
    stamp = _stamp(db, pair.id)  # a reader read the stamp, then the messages (none yet)...
    send(student.id, pair.id, "written meanwhile")
    cache.fill(pair.id, stamp, [], False)  # ...and stores its copy after the write committed
    assert [m["body"] for m in _history(client, auth, tutor, pair.id)["messages"]] == ["written meanwhile"]


def test_rest_send_by_outsider_and_blocked(client, auth, pair, student, tutor, outsider):
    url = f"/api/v1/conversations/{pair.id}/messages"
    assert_error(client.post(url, json={"body": "hi", "client_id": uuid.uuid4().hex},
                             headers=auth.headers(outsider)), 404)
    client.post(f"/api/v1/users/{student.id}/block", headers=auth.headers(tutor))
    assert_error(client.post(url, json={"body": "hi"}, headers=auth.headers(student)), 403)


@pytest.mark.postgres
def test_socket_sends_wait_for_the_send_gate_before_taking_a_connection(app, db, pair, student, monkeypatch):
    """With the gate full a standalone send (its unit of work holds no transaction, as on a socket) waits,
    holding no pooled connection; it writes once a place is free."""
    from app.common.gate import FifoGate

    gate = FifoGate(1)
    monkeypatch.setitem(app.extensions, "messaging.send_gate", gate)
    sender_id, conversation_id = student.id, pair.id
    db.session.commit()
    checked_out_before = db.engine.pool.checkedout()
    results = []

    def waiting_sender():
        with app.app_context():
            results.append(send(sender_id, conversation_id, "after the gate", "gate-1"))

    with gate:
        thread = threading.Thread(target=waiting_sender)
        thread.start()
        for _ in range(500):
            if gate.waiting:
                break
            thread.join(0.01)
        assert gate.waiting == 1
        assert db.engine.pool.checkedout() == checked_out_before
        assert _count(db, Message) == 0
        db.session.rollback()
    thread.join(10)
    assert results and results[0][1] is True
    assert _count(db, Message) == 1
    assert gate.holders == 0


@pytest.mark.postgres
def test_a_socket_send_is_one_statement_on_an_autocommit_connection(connect, db, pair, student, tutor):
    """The chat path's round trips: the send's one statement, no BEGIN or COMMIT around it. What follows it are
    the ``message.created`` subscribers (matching's outcome join, analytics' activity count), each in its own
    unit of work after the send committed."""
    alice, bob = connect(student), connect(tutor)
    conversation_id, seen = pair.id, []

    def record(connection, _cursor, statement, *_args):
        seen.append((connection.get_execution_options().get("isolation_level"), statement.split()[0]))

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        ack = alice.call("message:send", {"conversation_id": conversation_id, "body": "one trip", "client_id": "rt-1"})
        bob.wait_for("message:new")
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert ack["ok"] is True
    assert seen[0] == ("AUTOCOMMIT", "WITH")
    assert all(level != "AUTOCOMMIT" for level, _statement in seen[1:])


def test_send_gate_limit_comes_from_config(app, monkeypatch):
    monkeypatch.delitem(app.extensions, "messaging.send_gate", raising=False)
    monkeypatch.setitem(app.config, "MESSAGE_SEND_CONCURRENCY", 3)
    assert queries.send_gate().limit == 3
    assert queries.send_gate() is queries.send_gate()
