"""Validation errors have one layout wherever the input was refused: ``errors`` maps field → [messages]
(``_schema`` for the input as a whole), for webargs/marshmallow 422s, the app's own Invalid and socket acks."""
import pytest

from app.common.errors import field_errors
from app.extensions import socketio
from tests.conftest import assert_error
from tests.factories import UserFactory


def _is_field_map(errors):
    return isinstance(errors, dict) and errors and all(
        isinstance(key, str) and isinstance(value, (list, dict)) for key, value in errors.items())


def test_webargs_body_and_query_errors_are_field_maps(client):
    body = assert_error(client.post("/api/v1/auth/login", json={"email": "nope", "extra": 1}), 422)
    assert set(body["errors"]) == {"email", "password", "extra"}
    assert all(isinstance(messages, list) for messages in body["errors"].values())
    body = assert_error(client.get("/api/v1/tutors", query_string={"min_rate": -5}), 422)
    assert "min_rate" in body["errors"]
    body = assert_error(client.post("/api/v1/auth/login", json=[1, 2]), 422)
    assert "_schema" in body["errors"]


def test_service_invalid_is_a_field_map_and_never_empty(client, auth, db):
    user = UserFactory()
    body = assert_error(client.post("/api/v1/auth/confirm-email", json={"token": "not-a-token"}), 422)
    assert body["errors"] == {"_schema": [body["message"]]}
    body = assert_error(client.patch("/api/v1/auth/password", headers=auth.headers(user),
                                     json={"current_password": "wrong-password-here", "new_password": "x"}), 422)
    assert _is_field_map(body["errors"])


def test_socket_ack_errors_are_field_maps(app, auth, db):
    client = socketio.test_client(app, auth={"token": auth.tokens(UserFactory())["access_token"]})
    ack = client.emit("message:send", {"conversation_id": "x", "body": "hi", "client_id": "c1"}, callback=True)
    assert ack["ok"] is False and ack["error"]["code"] == 422
    assert "conversation_id" in ack["error"]["errors"] and _is_field_map(ack["error"]["errors"])
    client.disconnect()


@pytest.mark.parametrize(("given", "flat"), [
    ({"json": {"a": ["x"]}}, {"a": ["x"]}),
    ({"json": {"a": ["x"]}, "query": {"a": ["y"], "b": ["z"]}}, {"a": ["x"], "query.a": ["y"], "b": ["z"]}),
    ({"json": ["Invalid input type."]}, {"_schema": ["Invalid input type."]}),
    ({"field": ["kept"]}, {"field": ["kept"]}),
])
def test_field_errors_flattens_locations(given, flat):
    assert field_errors(given) == flat
