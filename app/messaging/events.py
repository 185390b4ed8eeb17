"""Socket.IO events of messaging, bound through the one socket helper (``app.common.sockets.register_event``):
auth from the connection, payload schema, a unit of work around the handler, failures as error acks."""
from app.common import sockets
from app.messaging import services
from app.messaging.schemas import (
    ConversationEventSchema,
    HeartbeatEventSchema,
    MessageSendEventSchema,
    PresenceQueryEventSchema,
    ReadEventSchema,
    TypingEventSchema,
)


def on_message_send(user_id, sid, data):
    message, created = services.send_message(user_id, data["conversation_id"], data["body"], data["client_id"],
                                             data["attachment_ids"], skip_sid=sid)
    return {"ok": True, "message": message, "duplicate": not created}


def on_message_read(user_id, sid, data):
    receipt = services.mark_read(user_id, data["conversation_id"], data["up_to_message_id"], skip_sid=sid)
    return {"ok": True, "receipt": receipt}


def on_join(user_id, sid, data):
    services.get_for_participant(data["conversation_id"], user_id)
    sockets.join(sid, services.conversation_room(data["conversation_id"]))
    return {"ok": True, "conversation_id": data["conversation_id"]}


def on_leave(_user_id, sid, data):
    sockets.leave(sid, services.conversation_room(data["conversation_id"]))
    return {"ok": True, "conversation_id": data["conversation_id"]}


def on_typing(user_id, sid, data):
    sent = services.signal_typing(user_id, data["conversation_id"], data["is_typing"], skip_sid=sid)
    return {"ok": True, "sent": sent}


def on_heartbeat(user_id, sid, _data):
    services.heartbeat({sid: user_id})
    return {"ok": True}


def on_presence_get(user_id, _sid, data):
    visible = set(services.contacts_of(user_id))
    asked = [uid for uid in data["user_ids"] if uid in visible]
    return {"ok": True, "online": {str(uid): state for uid, state in services.online(asked).items()}}


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
