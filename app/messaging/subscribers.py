"""Messaging's reactions: presence follows socket connections; a confirmed booking gets its conversation."""
import logging

from app.common import sockets
from app.common.transactions import unit_of_work
from app.extensions import socketio
from app.messaging import conversations, presence
from app.messaging.realtime import emit_to_users

log = logging.getLogger(__name__)


def _announce(user_id, is_online):
    emit_to_users("presence", {"user_id": user_id, "online": is_online}, conversations.contacts_of(user_id))


def on_socket_connected(user_id, sid):
    presence.start_refresher(socketio, sockets.connected_sockets)
    try:
        if presence.mark_online(user_id, sid):
            _announce(user_id, True)
    except Exception:
        log.warning("Presence update failed on connect", exc_info=True)


def on_socket_disconnected(user_id, sid):
    try:
        if presence.mark_offline(user_id, sid):
            _announce(user_id, False)
    except Exception:
        log.warning("Presence update failed on disconnect", exc_info=True)


def open_booking_conversation(booking_id, student_id, tutor_id, **_booking):
    """A confirmed booking gets its conversation (idempotent: a second confirmation finds it)."""
    with unit_of_work():
        conversations.add_booking_conversation(booking_id, [student_id, tutor_id])


def register(bus):
    bus.subscribe("socket.connected", on_socket_connected)
    bus.subscribe("socket.disconnected", on_socket_disconnected)
    bus.subscribe("booking.confirmed", open_booking_conversation)
