"""An open Socket.IO connection ends with its session: logout, a password change or reset, a deactivation.

Each test holds a connected socket of its own (Flask-SocketIO's test client): the server disconnects it when
its session ends, and a socket whose token was revoked (or whose token version is stale) has its events refused
even before the disconnect reaches it.
"""
import pytest
import redis
from flask_jwt_extended import decode_token

from app.auth import tokens
from app.extensions import socketio
from tests.auth.helpers import bearer, reset_code
from tests.factories import DEFAULT_PASSWORD, UserFactory


@pytest.fixture
def open_socket(app):
    """open_socket(access_token) -> a connected test client; every one is disconnected at the end."""
    clients = []

    def _open(token):
        client = socketio.test_client(app, auth={"token": token})
        assert client.is_connected()
        clients.append(client)
        return client

    yield _open
    for client in clients:
        if client.is_connected():
            client.disconnect()


def _heartbeat(client):
    return client.emit("presence:heartbeat", {}, callback=True)


def test_logout_disconnects_the_socket_opened_with_that_token_only(client, auth, open_socket):
    user = UserFactory()
    mine, other_device = auth.tokens(user), auth.tokens(user)
    socket = open_socket(mine["access_token"])
    other = open_socket(other_device["access_token"])
    assert _heartbeat(socket) == {"ok": True}

    assert client.post("/api/v1/auth/logout", headers=bearer(mine["access_token"])).status_code == 204

    assert not socket.is_connected()
    assert other.is_connected()
    assert _heartbeat(other) == {"ok": True}


def test_password_change_disconnects_every_socket_of_the_account(client, auth, open_socket):
    user = UserFactory()
    tokens_now = auth.tokens(user)
    sockets = [open_socket(tokens_now["access_token"]), open_socket(auth.tokens(user)["access_token"])]
    bystander = open_socket(auth.tokens(UserFactory())["access_token"])

    response = client.patch("/api/v1/auth/password", headers=bearer(tokens_now["access_token"]),
                            json={"current_password": DEFAULT_PASSWORD, "new_password": "copper-lantern-orchard"})
    assert response.status_code == 200
    assert [s.is_connected() for s in sockets] == [False, False]
    assert bystander.is_connected()
    # The fresh token from the change connects again.
    assert _heartbeat(open_socket(response.get_json()["access_token"])) == {"ok": True}


def test_password_reset_disconnects_the_sockets(client, auth, open_socket, outbox_dir):
    user = UserFactory(email="reset@example.com")
    socket = open_socket(auth.tokens(user)["access_token"])
    assert client.post("/api/v1/auth/password/forgot", json={"email": user.email}).status_code == 202
    response = client.post("/api/v1/auth/password/reset", json={
        "email": user.email, "otp": reset_code(outbox_dir, user.email), "new_password": "copper-lantern-orchard"})
    assert response.status_code == 204
    assert not socket.is_connected()


def test_deactivation_by_an_admin_disconnects_the_sockets(client, auth, open_socket):
    admin = UserFactory(roles=["admin"])
    user = UserFactory()
    socket = open_socket(auth.tokens(user)["access_token"])
    response = client.patch(f"/api/v1/admin/users/{user.id}", headers=auth.headers(admin),
                            json={"is_active": False})
    assert response.status_code == 200, response.get_json()
    assert not socket.is_connected()


def test_events_of_a_socket_whose_token_was_revoked_are_refused(auth, open_socket):
    """The revocation is in Redis before any disconnect arrives (another process, a slow queue)."""
    user = UserFactory()
    issued = auth.tokens(user)
    socket = open_socket(issued["access_token"])
    claims = decode_token(issued["access_token"])
    tokens.revoke_jti(claims["jti"], claims["exp"])

    ack = _heartbeat(socket)
    assert ack["ok"] is False
    assert ack["error"]["code"] == 401
    assert not socket.is_connected()


def test_events_of_a_socket_with_a_stale_token_version_are_refused(auth, open_socket):
    user = UserFactory()
    socket = open_socket(auth.tokens(user)["access_token"])
    tokens.mark_sessions_ended(user.id, user.token_version + 1)

    ack = _heartbeat(socket)
    assert (ack["ok"], ack["error"]["code"]) == (False, 401)
    assert not socket.is_connected()


def test_a_socket_of_the_current_version_keeps_working(auth, open_socket):
    user = UserFactory()
    socket = open_socket(auth.tokens(user)["access_token"])
    tokens.mark_sessions_ended(user.id, user.token_version)
    assert _heartbeat(socket) == {"ok": True}
    assert socket.is_connected()


def test_a_failing_session_check_refuses_the_event_but_keeps_the_socket(app, auth, open_socket, monkeypatch):
    from app.common import sockets

    user = UserFactory()
    socket = open_socket(auth.tokens(user)["access_token"])

    def unreachable(_user_id, _credentials):
        raise redis.exceptions.ConnectionError("redis is down")

    monkeypatch.setitem(app.extensions, sockets.SESSION_CHECK_KEY, unreachable)
    ack = _heartbeat(socket)
    assert (ack["ok"], ack["error"]["code"]) == (False, 503)
    assert socket.is_connected()
