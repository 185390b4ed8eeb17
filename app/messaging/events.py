"""Socket.IO events of messaging. Every payload goes through a marshmallow schema; every failure is an error
ack in the REST error shape ({"ok": false, "error": {code, status, message, errors}}), never a dropped socket.
"""
import logging

from app.common import sockets
from app.messaging import conversations, messages, presence
from app.messaging.realtime import (
    conversation_room,
    emit_to_conversation,
)
from app.messaging.schemas import (
    ConversationEventSchema,
    HeartbeatEventSchema,
    MessageSendEventSchema,
    PresenceQueryEventSchema,
    ReadEventSchema,
    TypingEventSchema,
)

log = logging.getLogger(__name__)


def on_message_send(user_id, sid, data):
    message, created = messages.send_message(user_id, data["conversation_id"], data["body"], data["client_id"],
                                             data["attachment_ids"], skip_sid=sid)
    return {"ok": True, "message": message, "duplicate": not created}


def on_message_read(user_id, sid, data):
    receipt = messages.mark_read(user_id, data["conversation_id"], data["up_to_message_id"], skip_sid=sid)
    return {"ok": True, "receipt": receipt}


def on_join(user_id, sid, data):
    conversations.get_for_participant(data["conversation_id"], user_id)
    sockets.join(sid, conversation_room(data["conversation_id"]))
    return {"ok": True, "conversation_id": data["conversation_id"]}


def on_leave(_user_id, sid, data):
    sockets.leave(sid, conversation_room(data["conversation_id"]))
    return {"ok": True, "conversation_id": data["conversation_id"]}


def on_typing(user_id, sid, data):
    conversation = conversations.get_for_participant(data["conversation_id"], user_id)
    if not presence.allow_typing(user_id, conversation.id) and data["is_typing"]:
        return {"ok": True, "sent": False}
    participant_ids = conversation.participant_ids
    emit_to_conversation("typing", {"conversation_id": data["conversation_id"], "user_id": user_id,
                                    "is_typing": data["is_typing"]},
                         data["conversation_id"], participant_ids, skip_sid=sid)
    return {"ok": True, "sent": True}


def on_heartbeat(user_id, sid, _data):
    presence.heartbeat({sid: user_id})
    return {"ok": True}


def on_presence_get(user_id, _sid, data):
    visible = set(conversations.contacts_of(user_id))
    asked = [uid for uid in data["user_ids"] if uid in visible]
    return {"ok": True, "online": {str(uid): state for uid, state in presence.online(asked).items()}}


def register(app):
    """Bind messaging's events through the one socket helper."""
    for name, schema, handler in (
        ("message:send", MessageSendEventSchema, on_message_send),
        ("message:read", ReadEventSchema, on_message_read),
        ("conversation:join", ConversationEventSchema, on_join),
        ("conversation:leave", ConversationEventSchema, on_leave),
        ("typing", TypingEventSchema, on_typing),
        ("presence:heartbeat", HeartbeatEventSchema, on_heartbeat),
        ("presence:get", PresenceQueryEventSchema, on_presence_get),
    ):
        sockets.register_event(app, name, schema, handler)
