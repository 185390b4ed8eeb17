"""Socket.IO events of messaging. Every payload goes through a marshmallow schema; every failure is an error
ack in the REST error shape ({"ok": false, "error": {code, status, message, errors}}), never a dropped socket.
"""
import functools
import logging

import sqlalchemy as sa
from marshmallow import ValidationError

from app.common import sockets
from app.common.errors import DomainError
from app.common.sockets import error_ack, socket_user_id
from app.extensions import db, socketio
from app.messaging import conversations, messages, presence
from app.messaging.models import ConversationParticipant
from app.messaging.realtime import (
    conversation_room,
    emit_to_conversation,
    emit_to_users,
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
MAX_CONTACTS = 1000


def event(name, schema_class):
    """Register a handler taking (user_id, sid, validated payload); its return value is the ack.

    Registered on python-socketio's server directly (``sockets.on_event``: an app context, no request
    context), so handlers take the sender's sid as an argument.
    """
    schema = schema_class()

    def decorator(fn):
        @functools.wraps(fn)
        def handler(sid, *args):
            user_id = socket_user_id(sid)
            if user_id is None:
                return error_ack(401, "Not authenticated.")
            payload = args[0] if args else {}
            if payload is None and not schema.fields:
                payload = {}
            if not isinstance(payload, dict):
                return error_ack(422, "The payload must be an object.")
            try:
                data = schema.load(payload)
                return fn(user_id, sid, data)
            except ValidationError as error:
                return error_ack(422, "Validation failed.", error.normalized_messages())
            except DomainError as error:
                db.session.rollback()
                return error_ack(error.code, error.message, error.errors)
            except Exception:  # never let one bad event take the connection or the server down
                log.exception("Socket.IO event %s failed", name)
                db.session.rollback()
                return error_ack(500, "An unexpected error occurred.")

        sockets.on_event(name)(handler)
        return handler

    return decorator


@event("message:send", MessageSendEventSchema)
def on_message_send(user_id, sid, data):
    message, created = messages.send_message(user_id, data["conversation_id"], data["body"], data["client_id"],
                                             data["attachment_ids"], skip_sid=sid)
    return {"ok": True, "message": message, "duplicate": not created}


@event("message:read", ReadEventSchema)
def on_message_read(user_id, sid, data):
    receipt = messages.mark_read(user_id, data["conversation_id"], data["up_to_message_id"], skip_sid=sid)
    return {"ok": True, "receipt": receipt}


@event("conversation:join", ConversationEventSchema)
def on_join(user_id, sid, data):
    conversations.get_for_participant(data["conversation_id"], user_id)
    db.session.rollback()
    sockets.join(sid, conversation_room(data["conversation_id"]))
    return {"ok": True, "conversation_id": data["conversation_id"]}


@event("conversation:leave", ConversationEventSchema)
def on_leave(_user_id, sid, data):
    sockets.leave(sid, conversation_room(data["conversation_id"]))
    return {"ok": True, "conversation_id": data["conversation_id"]}


@event("typing", TypingEventSchema)
def on_typing(user_id, sid, data):
    conversation = conversations.get_for_participant(data["conversation_id"], user_id)
    if not presence.allow_typing(user_id, conversation.id) and data["is_typing"]:
        return {"ok": True, "sent": False}
    participant_ids = conversation.participant_ids
    db.session.rollback()  # read-only: give the connection back before broadcasting
    emit_to_conversation("typing", {"conversation_id": data["conversation_id"], "user_id": user_id,
                                    "is_typing": data["is_typing"]},
                         data["conversation_id"], participant_ids, skip_sid=sid)
    return {"ok": True, "sent": True}


@event("presence:heartbeat", HeartbeatEventSchema)
def on_heartbeat(user_id, sid, _data):
    presence.heartbeat({sid: user_id})
    return {"ok": True}


@event("presence:get", PresenceQueryEventSchema)
def on_presence_get(user_id, _sid, data):
    visible = set(contacts_of(user_id))
    asked = [uid for uid in data["user_ids"] if uid in visible]
    return {"ok": True, "online": {str(uid): state for uid, state in presence.online(asked).items()}}


def contacts_of(user_id):
    """Everyone sharing a conversation with the user (who may see their presence)."""
    mine = sa.select(ConversationParticipant.conversation_id).where(ConversationParticipant.user_id == user_id)
    return list(db.session.scalars(
        sa.select(ConversationParticipant.user_id).distinct()
        .where(ConversationParticipant.conversation_id.in_(mine), ConversationParticipant.user_id != user_id)
        .limit(MAX_CONTACTS)
    ))


def _announce(user_id, is_online):
    contacts = contacts_of(user_id)
    db.session.rollback()  # read-only: give the connection back before broadcasting
    emit_to_users("presence", {"user_id": user_id, "online": is_online}, contacts)


def _on_connect(user_id, sid):
    presence.start_refresher(socketio, sockets.connected_sockets)
    try:
        if presence.mark_online(user_id, sid):
            _announce(user_id, True)
    except Exception:  # presence is best effort; the connection stands
        log.warning("Presence update failed on connect", exc_info=True)


def _on_disconnect(user_id, sid):
    try:
        if presence.mark_offline(user_id, sid):
            _announce(user_id, False)
    except Exception:
        log.warning("Presence update failed on disconnect", exc_info=True)


sockets.CONNECT_LISTENERS.append(_on_connect)
sockets.DISCONNECT_LISTENERS.append(_on_disconnect)
