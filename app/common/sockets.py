"""The one Socket.IO convention: every handler is registered through ``register_event``.

A handler is ``fn(user_id, sid, data) -> ack``. The helper authenticates the sender from its connection
(``user_id`` set by the connect handler, ``app.auth.events``), validates the payload with a marshmallow schema,
runs the handler inside a unit of work (so it never commits or rolls back itself) and turns every failure into
an error ack in the REST error shape: ``{"ok": false, "error": {code, status, message, errors}}``.

Handlers are registered on python-socketio's server in an app context only: Flask-SocketIO's ``@socketio.on``
pushes a whole request context per event (request object, URL matching, the cookie session), which these
handlers do not need. Rooms: ``user:<id>`` (every connection of a user), ``conversation:<id>``, ``tutor:<id>``.

A connection keeps the credentials it authenticated with (opaque here; ``app.auth`` gives them). Before each
event, the ``still_valid(user_id, credentials)`` check given to ``register_connection`` runs; a connection whose
session has ended is refused with a 401 ack and disconnected.
"""
import logging

from flask_socketio import ConnectionRefusedError
from marshmallow import ValidationError

from app.common.errors import REDIS_UNAVAILABLE, UNAVAILABLE_MESSAGE, DomainError, error_body
from app.common.inputs import REFUSED_EVENT, check_payload
from app.common.transactions import unit_of_work
from app.extensions import socketio

log = logging.getLogger(__name__)

NAMESPACE = "/"

# sid -> (user id, credentials) of this process's authenticated connections (a sid lives in exactly one process).
_connected = {}
SESSION_CHECK_KEY = "tutorhub.socket_session_check"


def user_room(user_id):
    return f"user:{user_id}"


def error_ack(code, message, errors=None):
    """What a handler answers when an event is refused (the REST error body, under ``error``)."""
    return {"ok": False, "error": error_body(code, message, errors)}


def remember_connection(sid, user_id, credentials=None):
    _connected[sid] = (user_id, credentials)


def forget_connection(sid):
    """The user id connection ``sid`` had, now forgotten (None when it was not known)."""
    entry = _connected.pop(sid, None)
    return entry[0] if entry else None


def socket_user_id(sid):
    """The authenticated user id of connection ``sid``, or None."""
    entry = _connected.get(sid)
    return entry[0] if entry else None


def socket_credentials(sid):
    """What connection ``sid`` authenticated with (as ``on_connect`` returned it), or None."""
    entry = _connected.get(sid)
    return entry[1] if entry else None


def connected_sockets():
    """{sid: user_id} of this process's live connections (e.g. for presence heartbeats)."""
    return {sid: entry[0] for sid, entry in list(_connected.items())}


def disconnect(sid):
    """Close connection ``sid`` from the server side, in whichever process holds it (through the message queue
    when one is configured); a broken queue is logged."""
    try:
        socketio.server.disconnect(sid, namespace=NAMESPACE)
    except Exception:  # noqa: BLE001 (the session is ended anyway: its events are refused by the check)
        log.exception("Could not disconnect socket %s", sid)


def join(sid, room):
    socketio.server.enter_room(sid, room, namespace=NAMESPACE)


def leave(sid, room):
    socketio.server.leave_room(sid, room, namespace=NAMESPACE)


def origin_check(allowed_origins, trust_forwarded=False):
    """Socket.IO's ``cors_allowed_origins``: the ``CORS_ORIGINS`` list plus the server's own origin (the
    scheme and Host the request came in with; behind a trusted proxy, ``PROXY_FIX_X_FOR`` > 0, its
    X-Forwarded-Proto), so a page served by this server may open a websocket to it whatever CORS_ORIGINS says."""
    allowed = frozenset(allowed_origins)

    def allow(origin, environ):
        if "*" in allowed or origin in allowed:
            return True
        host = environ.get("HTTP_HOST")
        if not host:
            return False
        scheme = environ.get("wsgi.url_scheme", "http")
        if trust_forwarded and environ.get("HTTP_X_FORWARDED_PROTO"):
            scheme = environ["HTTP_X_FORWARDED_PROTO"].split(",")[0].strip()
        return origin == f"{scheme}://{host}"

    return allow


def emit(event, payload, rooms, skip_sid=None):
    """Emit to one room or several (a socket in several gets it once); a broken message queue is logged."""
    if not rooms:
        return
    try:
        socketio.emit(event, payload, to=rooms, skip_sid=skip_sid)
    except Exception:  # noqa: BLE001 (the change behind the emit is committed; clients catch up over REST)
        log.exception("Could not emit %s", event)


def _load(schema, args):
    payload = args[0] if args else {}
    if payload is None and not schema.fields:
        payload = {}
    if not isinstance(payload, dict):
        raise ValidationError({"_schema": ["The payload must be an object."]})
    check_payload(payload)  # NUL, unpaired surrogates, deep nesting: a 422 ack, never a database error
    return schema.load(payload)


def _run(name, fn, user_id, sid, schema, args):
    try:
        data = _load(schema, args)
        with unit_of_work():
            return fn(user_id, sid, data)
    except ValidationError as error:
        return error_ack(422, "Validation failed.", error.normalized_messages())
    except DomainError as error:
        return error_ack(error.code, error.message, error.errors)
    except REDIS_UNAVAILABLE as error:  # as the REST API answers: 503, the client may retry
        log.warning("Socket.IO event %s: Redis unavailable: %s", name, error)
        return error_ack(503, UNAVAILABLE_MESSAGE)
    except Exception:  # noqa: BLE001 (one bad event must not take the connection or the server down)
        log.exception("Socket.IO event %s failed", name)
        return error_ack(500, "An unexpected error occurred.")


def register_event(app, name, schema, fn):
    """Handle event ``name`` on ``app``'s Socket.IO server with ``fn(user_id, sid, data)``; its return is the ack."""
    schema = schema()

    def handler(sid, *args):
        with app.app_context():
            entry = _connected.get(sid)
            if entry is None:
                return error_ack(401, "Not authenticated.")
            try:
                valid = _session_still_valid(app, sid, *entry)
            except REDIS_UNAVAILABLE as error:  # the check cannot run: refuse this event, keep the connection
                log.warning("Socket.IO session check for %s: Redis unavailable: %s", name, error)
                return error_ack(503, UNAVAILABLE_MESSAGE)
            if not valid:
                return error_ack(401, "This session has ended; log in again.")
            return _run(name, fn, entry[0], sid, schema, args)

    socketio.server.on(name, handler, namespace=NAMESPACE)
    return handler


def _session_still_valid(app, sid, user_id, credentials):
    """Run the app's session check; a connection that fails it is disconnected (its events refused)."""
    check = app.extensions.get(SESSION_CHECK_KEY)
    if check is None or check(user_id, credentials):
        return True
    disconnect(sid)
    return False


def register_connection(app, on_connect, on_disconnect, still_valid=None):
    """``on_connect(sid, auth) -> (user_id, credentials)`` (raises ConnectionRefusedError to refuse) and
    ``on_disconnect(sid, user_id)``, each in an app context and a unit of work; a connection joins ``user:<id>``.
    ``still_valid(user_id, credentials) -> bool`` runs before every event (keep it cheap)."""
    app.extensions[SESSION_CHECK_KEY] = still_valid

    def connect(sid, _environ, auth=None):
        with app.app_context(), unit_of_work():
            try:
                user_id, credentials = on_connect(sid, auth)
            except REDIS_UNAVAILABLE as error:  # the revoked-token check cannot run: refused, with a 503 body
                log.warning("Socket.IO connect: Redis unavailable: %s", error)
                raise ConnectionRefusedError(error_body(503, UNAVAILABLE_MESSAGE)) from None
            remember_connection(sid, user_id, credentials)
            join(sid, user_room(user_id))
        return True

    def disconnect(sid, *_reason):
        user_id = forget_connection(sid)
        if user_id is None:
            return
        with app.app_context(), unit_of_work():
            on_disconnect(sid, user_id)

    def refused(_sid, *_args):
        return error_ack(422, "Validation failed.", {"_schema": [
            "The payload could not be decoded (nested too deep, an integer too long, or invalid JSON)."]})

    socketio.server.on("connect", connect, namespace=NAMESPACE)
    socketio.server.on("disconnect", disconnect, namespace=NAMESPACE)
    socketio.server.on(REFUSED_EVENT, refused, namespace=NAMESPACE)
