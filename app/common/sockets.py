"""Socket.IO connection auth shared by every domain's events: the access token is checked on connect.

A client connects with ``auth={"token": access_token}``; the server joins it to ``user:<id>``.
Domain handlers call ``socket_user()`` to learn who is on the other end.
"""
import logging

from flask import request
from flask_jwt_extended import decode_token
from flask_socketio import ConnectionRefusedError, join_room

from app.common.auth import is_revoked
from app.extensions import db, socketio

log = logging.getLogger(__name__)

# sid -> user id, for this process's connections (a sid lives in exactly one process).
_connected = {}


def user_room(user_id):
    return f"user:{user_id}"


def _user_from_token(token):
    from app.users.models import User

    if not token or not isinstance(token, str):
        raise ConnectionRefusedError("authentication required")
    try:
        claims = decode_token(token)
    except Exception:  # noqa: BLE001 (expired, malformed, wrong signature: all refused the same way)
        raise ConnectionRefusedError("invalid or expired token") from None
    if claims.get("type") != "access" or is_revoked(claims["jti"]):
        raise ConnectionRefusedError("invalid or expired token")
    user = db.session.get(User, int(claims["sub"]))
    if user is None or not user.is_active or claims.get("tv") != user.token_version:
        raise ConnectionRefusedError("invalid or expired token")
    return user


@socketio.on("connect")
def on_connect(auth=None):
    token = auth.get("token") if isinstance(auth, dict) else None
    user = _user_from_token(token)
    _connected[request.sid] = user.id
    join_room(user_room(user.id))
    for listener in CONNECT_LISTENERS:
        listener(user.id, request.sid)


@socketio.on("disconnect")
def on_disconnect(*_args):
    user_id = _connected.pop(request.sid, None)
    if user_id is not None:
        for listener in DISCONNECT_LISTENERS:
            listener(user_id, request.sid)


def socket_user_id(sid=None):
    """The authenticated user id of a connection: ``sid``, or the current Flask-SocketIO event's."""
    return _connected.get(request.sid if sid is None else sid)


def on_event(name, namespace="/"):
    """Register ``fn(sid, *args)`` straight on python-socketio's server, run in an app context only.

    Flask-SocketIO's ``@socketio.on`` pushes a full request context for every event (WSGI environ wrapped
    in a Request, URL matching, the cookie session opened and copied): a visible share of a chat message's
    CPU, for handlers that need none of it. These handlers get the sid as an argument (no ``request.sid``),
    join rooms with ``join(sid, room)``, and have what an app context gives: config, ``db.session``
    (removed when the context ends), Redis. The return value is the ack, as with Flask-SocketIO.
    """
    def decorator(fn):
        def handler(sid, *args):
            environ = socketio.server.get_environ(sid, namespace=namespace)
            if not environ:  # a connection this server has no record of (as Flask-SocketIO: ignore it)
                return None
            with environ["flask.app"].app_context():
                return fn(sid, *args)

        # Flask-SocketIO registers socketio.handlers on every init_app (e.g. each test app's new server).
        socketio.handlers.append((name, handler, namespace))
        if socketio.server is not None:
            socketio.server.on(name, handler, namespace=namespace)
        return fn

    return decorator


def join(sid, room, namespace="/"):
    socketio.server.enter_room(sid, room, namespace=namespace)


def leave(sid, room, namespace="/"):
    socketio.server.leave_room(sid, room, namespace=namespace)


def connected_sockets():
    """{sid: user_id} of this process's live connections (e.g. for presence heartbeats)."""
    return dict(_connected)


def error_ack(code, message, errors=None):
    """What a handler returns as its ack when an event is refused (same fields as the REST error body)."""
    from app.common.errors import error_body

    return {"ok": False, "error": error_body(code, message, errors)}


# Domains register callables (user_id, sid) here, e.g. presence tracking.
CONNECT_LISTENERS = []
DISCONNECT_LISTENERS = []
