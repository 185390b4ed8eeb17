"""Messaging's reactions: its own events become socket emits; presence follows socket connections; a booking's
changes appear as system lines in the one conversation of its student and tutor."""
import logging
from datetime import datetime

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


# booking event → what its system line says happened
BOOKING_LINES = {
    "booking.requested": "requested",
    "booking.confirmed": "confirmed",
    "booking.rescheduled": "rescheduled",
    "booking.cancelled": "cancelled",
    "booking.rejected": "declined",
    "booking.expired": "expired without an answer",
    "booking.completed": "completed",
}


def booking_line(event, booking_id, start_at, duration_minutes, subject, subject_name=None, cancelled_by=None,
                 **_booking):
    """The text of a booking's system line (times in UTC; clients can show them in the reader's zone)."""
    when = datetime.fromisoformat(start_at).strftime("%a %d %b %Y %H:%M UTC")
    what = BOOKING_LINES[event] + (f" by the {cancelled_by}" if cancelled_by else "")
    return f"Booking #{booking_id} {what}: {subject_name or subject}, {when}, {duration_minutes} min."


def _booking_line_subscriber(event):
    def post_booking_line(booking_id, student_id, tutor_id, actor_id=None, **booking):
        """A booking change → a system line in the pair's conversation, in its own unit of work."""
        with unit_of_work():
            services.post_booking_line(student_id, tutor_id, booking_id, actor_id,
                                       booking_line(event, booking_id, **booking))

    post_booking_line.__name__ = f"post_booking_line[{event}]"
    return post_booking_line


def register(bus):
    bus.subscribe("message.created", emit_message)
    bus.subscribe("message.read", emit_read)
    bus.subscribe("conversation.typing", emit_typing)
    bus.subscribe("socket.connected", on_socket_connected)
    bus.subscribe("socket.disconnected", on_socket_disconnected)
    for event in BOOKING_LINES:
        bus.subscribe(event, _booking_line_subscriber(event))
