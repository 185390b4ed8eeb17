"""REST messages: send (fallback), history with cursor, read marker, limits, blocking, authz."""
from app.extensions import db as _db
from app.messaging import services
from app.messaging.models import Message
from tests.conftest import assert_error
from tests.messaging.conftest import committed, send


def url(conversation_id, tail="messages"):
    return f"/api/v1/conversations/{conversation_id}/{tail}"


def test_send_and_read_history(client, auth, pair, student, tutor):
    response = client.post(url(pair.id), json={"body": "Hello tutor", "client_id": "c-1"}, headers=auth.headers(student))
    assert response.status_code == 201
    sent = response.get_json()
    assert sent["body"] == "Hello tutor" and sent["sender_id"] == student.id and sent["client_id"] == "c-1"
    history = client.get(url(pair.id), headers=auth.headers(tutor)).get_json()
    assert [m["id"] for m in history["messages"]] == [sent["id"]]
    assert history["next_before"] is None


def test_repeated_client_id_returns_the_same_message(client, auth, pair, student, db):
    headers = auth.headers(student)
    first = client.post(url(pair.id), json={"body": "once", "client_id": "retry-1"}, headers=headers)
    second = client.post(url(pair.id), json={"body": "once", "client_id": "retry-1"}, headers=headers)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.get_json()["id"] == second.get_json()["id"]
    assert db.session.query(Message).count() == 1


def test_cursor_pagination_newest_first_without_gaps(client, auth, pair, student, tutor):
    for i in range(7):
        send(student.id if i % 2 else tutor.id, pair.id, f"m{i}")
    headers = auth.headers(student)
    seen, before = [], None
    while True:
        query = {"limit": 3} | ({"before": before} if before else {})
        page = client.get(url(pair.id), query_string=query, headers=headers).get_json()
        seen.extend(m["body"] for m in page["messages"])
        before = page["next_before"]
        if before is None:
            break
    assert seen == [f"m{i}" for i in reversed(range(7))]


def test_history_cache_follows_writes(client, auth, pair, student, tutor):
    headers = auth.headers(tutor)
    send(student.id, pair.id, "first")
    assert [m["body"] for m in client.get(url(pair.id), headers=headers).get_json()["messages"]] == ["first"]
    send(student.id, pair.id, "second")  # appended to the cached copy
    assert [m["body"] for m in client.get(url(pair.id), headers=headers).get_json()["messages"]] == ["second", "first"]


def test_history_bad_input(client, auth, pair, student):
    headers = auth.headers(student)
    assert_error(client.get(url(pair.id), query_string={"limit": 0}, headers=headers), 422)
    assert_error(client.get(url(pair.id), query_string={"limit": 101}, headers=headers), 422)
    assert_error(client.get(url(pair.id), query_string={"before": "x"}, headers=headers), 422)


def test_send_bad_input(client, auth, pair, student):
    headers = auth.headers(student)
    assert_error(client.post(url(pair.id), json={"body": "x" * 4001}, headers=headers), 422)
    assert_error(client.post(url(pair.id), json={"body": "   "}, headers=headers), 422)
    assert_error(client.post(url(pair.id), json={}, headers=headers), 422)
    assert_error(client.post(url(pair.id), json={"body": 5}, headers=headers), 422)
    assert_error(client.post(url(pair.id), json={"body": "hi", "unknown": 1}, headers=headers), 422)
    assert client.post(url(pair.id), json={"body": "x" * 4000}, headers=headers).status_code == 201


def test_outsider_cannot_read_or_write(client, auth, pair, outsider):
    headers = auth.headers(outsider)
    assert_error(client.get(url(pair.id), headers=headers), 404)
    assert_error(client.post(url(pair.id), json={"body": "hi"}, headers=headers), 404)
    assert_error(client.post(url(pair.id, "read"), json={"up_to_message_id": 1}, headers=headers), 404)
    assert_error(client.get(url(999999), headers=headers), 404)


def test_unauthenticated(client, pair):
    assert_error(client.get(url(pair.id)), 401)
    assert_error(client.post(url(pair.id), json={"body": "hi"}), 401)
    assert_error(client.post(url(pair.id, "read"), json={"up_to_message_id": 1}), 401)


def test_mark_read_moves_forward_only(client, auth, pair, student, tutor):
    first, _ = send(student.id, pair.id, "a")
    second, _ = send(student.id, pair.id, "b")
    headers = auth.headers(tutor)
    response = client.post(url(pair.id, "read"), json={"up_to_message_id": second["id"]}, headers=headers)
    assert response.status_code == 200
    assert response.get_json() == {"conversation_id": pair.id, "user_id": tutor.id,
                                   "last_read_message_id": second["id"], "unread_count": 0}
    back = client.post(url(pair.id, "read"), json={"up_to_message_id": first["id"]}, headers=headers).get_json()
    assert back["last_read_message_id"] == second["id"]


def test_mark_read_bad_input(client, auth, pair, student, tutor, outsider):
    other, _ = committed(services.get_or_create_pair, tutor.id, outsider.id)
    foreign, _ = send(outsider.id, other.id, "elsewhere")
    headers = auth.headers(student)
    assert_error(client.post(url(pair.id, "read"), json={}, headers=headers), 422)
    assert_error(client.post(url(pair.id, "read"), json={"up_to_message_id": "1"}, headers=headers), 422)
    assert_error(client.post(url(pair.id, "read"), json={"up_to_message_id": foreign["id"]}, headers=headers), 404)


def test_blocked_user_cannot_send(client, auth, pair, student, tutor):
    assert client.post(f"/api/v1/users/{student.id}/block", headers=auth.headers(tutor)).status_code == 204
    assert_error(client.post(url(pair.id), json={"body": "hey"}, headers=auth.headers(student)), 403)
    # the blocker can still write; unblocking lets the other side write again
    assert client.post(url(pair.id), json={"body": "bye"}, headers=auth.headers(tutor)).status_code == 201
    assert client.delete(f"/api/v1/users/{student.id}/block", headers=auth.headers(tutor)).status_code == 204
    assert client.post(url(pair.id), json={"body": "hey"}, headers=auth.headers(student)).status_code == 201


def test_block_bad_input(client, auth, student):
    headers = auth.headers(student)
    assert_error(client.post(f"/api/v1/users/{student.id}/block", headers=headers), 422)
    assert_error(client.post("/api/v1/users/999999/block", headers=headers), 404)
    assert_error(client.delete("/api/v1/users/999999/block", headers=headers), 404)
    assert_error(client.post(f"/api/v1/users/{student.id}/block"), 401)


def test_block_is_idempotent(client, auth, student, tutor):
    headers = auth.headers(tutor)
    assert client.post(f"/api/v1/users/{student.id}/block", headers=headers).status_code == 204
    assert client.post(f"/api/v1/users/{student.id}/block", headers=headers).status_code == 204


def test_rest_flood_is_rate_limited(client, app, auth, pair, student, monkeypatch):
    monkeypatch.setitem(app.config, "MESSAGE_RATE_LIMIT", 3)
    headers = auth.headers(student)
    codes = [client.post(url(pair.id), json={"body": f"{i}"}, headers=headers).status_code for i in range(5)]
    assert codes[:3] == [201, 201, 201]
    response = client.post(url(pair.id), json={"body": "again"}, headers=headers)
    body = assert_error(response, 429)
    assert "Retry-After" in response.headers and body["message"]


def test_new_message_creates_in_app_notification(client, auth, pair, student, tutor):
    send(student.id, pair.id, "ping")
    listed = client.get("/api/v1/notifications", headers=auth.headers(tutor)).get_json()
    assert len(listed) == 1
    assert listed[0]["kind"] == "message" and listed[0]["body"] == "ping"
    assert listed[0]["data"]["conversation_id"] == pair.id
    assert client.get("/api/v1/notifications", headers=auth.headers(student)).get_json() == []
    assert _db.session.query(Message).count() == 1
