"""Auth's reactions: an ended session closes the sockets opened with it, in whichever process holds them."""
from app.auth import services
from app.common import sockets


def disconnect_ended_sockets(user_id, token_version=None, token_id=None, **_reason):
    """``user.sessions_ended``: disconnect the user's sockets made with a revoked token or an older version."""
    for sid in services.sockets_of_ended_sessions(user_id, token_version, token_id):
        sockets.disconnect(sid)


def register(bus):
    bus.subscribe("user.sessions_ended", disconnect_ended_sockets)
