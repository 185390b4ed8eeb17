"""Messaging's reactions: its own events become socket emits; presence follows socket connections; a confirmed
booking gets its conversation."""
import logging

from app.common import sockets
from app.common.transactions import unit_of_work
from app.extensions import socketio
from app.messaging import services

log = logging.getLogger(__name__)


def _conversation_rooms(conversation_id, participant_ids):
    """The conversation's room and every participant's user room (a socket in several gets an emit once)."""
    return [services.conversation_room(conversation_id), *(sockets.user_room(uid) for uid in participant_ids)]


def emit_message(message, participant_ids, skip_sid=None):
    """``message:new`` with the stored message; the sender's own socket (``skip_sid``) has it in its ack."""
    sockets.emit("message:new", message, _conversation_rooms(message["conversation_id"], participant_ids),
                 skip_sid=skip_sid)


def emit_read(conversation_id, user_id, last_read_message_id, participant_ids, skip_sid=None):
    receipt = {"conversation_id": conversation_id, "user_id": user_id, "last_read_message_id": last_read_message_id}
    sockets.emit("message:read", receipt, _conversation_rooms(conversation_id, participant_ids), skip_sid=skip_sid)


def emit_typing(conversation_id, user_id, is_typing, participant_ids, skip_sid=None):
    signal = {"conversation_id": conversation_id, "user_id": user_id, "is_typing": is_typing}
    sockets.emit("typing", signal, _conversation_rooms(conversation_id, participant_ids), skip_sid=skip_sid)


def _announce_presence(user_id, is_online):
    rooms = [sockets.user_room(uid) for uid in services.contacts_of(user_id)]
    sockets.emit("presence", {"user_id": user_id, "online": is_online}, rooms)


def on_socket_connected(user_id, sid):
    services.start_refresher(socketio, sockets.connected_sockets)
    try:
        if services.mark_online(user_id, sid):
            _announce_presence(user_id, True)
    except Exception:  # presence is best effort: Redis down must not refuse the connection
        log.warning("Presence update failed on connect", exc_info=True)


def on_socket_disconnected(user_id, sid):
    try:
        if services.mark_offline(user_id, sid):
            _announce_presence(user_id, False)
    except Exception:  # presence is best effort
        log.warning("Presence update failed on disconnect", exc_info=True)


def open_booking_conversation(booking_id, student_id, tutor_id, **_booking):
    """A confirmed booking gets its conversation (idempotent: a second confirmation finds it)."""
    with unit_of_work():
        services.add_booking_conversation(booking_id, [student_id, tutor_id])


def register(bus):
    bus.subscribe("message.created", emit_message)
    bus.subscribe("message.read", emit_read)
    bus.subscribe("conversation.typing", emit_typing)
    bus.subscribe("socket.connected", on_socket_connected)
    bus.subscribe("socket.disconnected", on_socket_disconnected)
    bus.subscribe("booking.confirmed", open_booking_conversation)
