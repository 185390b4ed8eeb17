"""Socket.IO rooms and emits shared by the messaging services (they work from web processes and RQ jobs)."""
from app.common.sockets import user_room
from app.extensions import socketio


def conversation_room(conversation_id):
    return f"conversation:{conversation_id}"


def emit_to_conversation(event, payload, conversation_id, participant_ids, skip_sid=None):
    """Emit to the conversation room and every participant's user room; a socket in several gets it once."""
    rooms = [conversation_room(conversation_id)] + [user_room(user_id) for user_id in participant_ids]
    socketio.emit(event, payload, to=rooms, skip_sid=skip_sid)


def emit_to_users(event, payload, user_ids, skip_sid=None):
    rooms = [user_room(user_id) for user_id in user_ids]
    if rooms:
        socketio.emit(event, payload, to=rooms, skip_sid=skip_sid)
