"""Socket.IO connection auth, through Flask-SocketIO's test client."""
from app.extensions import socketio
from tests.factories import UserFactory


def test_connect_with_valid_token_joins_user_room(app, auth):
    user = UserFactory()
    token = auth.tokens(user)["access_token"]
    client = socketio.test_client(app, auth={"token": token})
    assert client.is_connected()
    client.disconnect()


def test_connect_without_token_is_refused(app):
    client = socketio.test_client(app)
    assert not client.is_connected()


def test_connect_with_refresh_token_is_refused(app, auth):
    user = UserFactory()
    client = socketio.test_client(app, auth={"token": auth.tokens(user)["refresh_token"]})
    assert not client.is_connected()
