"""Live availability over Socket.IO: clients `subscribe` to a tutor's room and hear `availability:changed`."""
import logging

from flask_socketio import join_room, leave_room

from app.common.sockets import error_ack, socket_user_id
from app.extensions import socketio

log = logging.getLogger(__name__)


def tutor_room(tutor_id):
    return f"tutor:{tutor_id}"


def availability_changed(tutor_id):
    """Tell watchers a tutor's free slots changed; called after the change is committed."""
    try:
        socketio.emit("availability:changed", {"tutor_id": tutor_id}, to=tutor_room(tutor_id))
    except Exception:  # a broken message queue must not undo a committed booking
        log.exception("Could not emit availability change for tutor %s", tutor_id)


def _tutor_id(data):
    value = data.get("tutor_id") if isinstance(data, dict) else None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return None
    return value


@socketio.on("subscribe")
def subscribe(data=None):
    """{tutor_id} → join the tutor's room; the ack says which room."""
    if socket_user_id() is None:
        return error_ack(401, "authentication required")
    tutor_id = _tutor_id(data)
    if tutor_id is None:
        return error_ack(422, "tutor_id must be a positive integer", {"tutor_id": ["Required."]})
    from app.common.errors import NotFound
    from app.scheduling.availability import get_tutor

    try:
        get_tutor(tutor_id)
    except NotFound as error:
        return error_ack(404, error.message)
    join_room(tutor_room(tutor_id))
    return {"ok": True, "room": tutor_room(tutor_id)}


@socketio.on("unsubscribe")
def unsubscribe(data=None):
    tutor_id = _tutor_id(data)
    if tutor_id is None:
        return error_ack(422, "tutor_id must be a positive integer", {"tutor_id": ["Required."]})
    leave_room(tutor_room(tutor_id))
    return {"ok": True}
