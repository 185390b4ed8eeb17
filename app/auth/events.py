"""Socket.IO connection authentication: a client connects with ``auth={"token": <access token>}``."""
from app.auth import services
from app.common import sockets


def on_connect(sid, auth):
    token = auth.get("token") if isinstance(auth, dict) else None
    return services.connect_socket(sid, token)


def register(app):
    sockets.register_connection(app, on_connect, services.disconnect_socket, services.socket_session_valid)
