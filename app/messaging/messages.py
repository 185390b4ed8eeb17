"""Sending, listing and reading messages. Messages are committed before they are broadcast."""
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.common.errors import Conflict, Forbidden, Invalid, NotFound
from app.common.time import utcnow
from app.extensions import db
from app.messaging import attachments as attachment_service
from app.messaging import blocks, cache, conversations, presence
from app.messaging.links import link_previews
from app.messaging.models import ConversationParticipant, Message
from app.messaging.realtime import emit_to_conversation
from app.notifications import services as notifications
from app.users.models import User

MAX_BODY = 4000
MAX_ATTACHMENTS = 10
DEFAULT_LIMIT = 50
MAX_LIMIT = 100


def message_dict(message):
    """The stored message as plain data (what the history cache holds)."""
    return {
        "id": message.id,
        "conversation_id": message.conversation_id,
        "sender_id": message.sender_id,
        "body": message.body,
        "client_id": message.client_id,
        "created_at": message.created_at.isoformat(),
        "attachments": [attachment_service.attachment_dict(a) for a in message.attachments],
    }


def present(data):
    """Public shape of a message: signed attachment URLs and typed link previews added."""
    out = dict(data)
    out["attachments"] = [attachment_service.present(a) for a in data["attachments"]]
    out["link_previews"] = link_previews(data["body"])
    return out


def _validate_content(body, attachment_ids):
    if len(body) > MAX_BODY:
        raise Invalid(f"A message is at most {MAX_BODY} characters.", errors={"body": [f"Longer than {MAX_BODY}."]})
    if not body.strip() and not attachment_ids:
        raise Invalid("A message needs a body or an attachment.", errors={"body": ["Empty message."]})
    if len(attachment_ids) > MAX_ATTACHMENTS:
        raise Invalid(f"At most {MAX_ATTACHMENTS} attachments.", errors={"attachment_ids": ["Too many."]})


def _existing(sender_id, client_id, conversation_id):
    message = db.session.scalar(sa.select(Message).where(Message.sender_id == sender_id, Message.client_id == client_id))
    if message is not None and message.conversation_id != conversation_id:
        raise Conflict("This client_id was already used for another conversation.",
                       errors={"client_id": ["Already used."]})
    return message


def send_message(sender_id, conversation_id, body, client_id=None, attachment_ids=(), skip_sid=None):
    """Store a message and broadcast it. Returns (public message, created); a repeated client_id is a no-op."""
    conversation = conversations.get_for_participant(conversation_id, sender_id)
    attachment_ids = list(attachment_ids or [])
    if client_id:
        existing = _existing(sender_id, client_id, conversation_id)
        if existing is not None:
            return present(message_dict(existing)), False
    _validate_content(body, attachment_ids)
    presence.check_message_rate(sender_id)
    recipients = [uid for uid in conversation.participant_ids if uid != sender_id]
    if blocks.blocked_by_any(sender_id, recipients):
        raise Forbidden("A participant of this conversation does not accept messages from you.")
    files = attachment_service.claim_for_message(sender_id, attachment_ids)

    message = Message(conversation_id=conversation.id, sender_id=sender_id, body=body, client_id=client_id,
                      created_at=utcnow())
    message.attachments = files
    conversation.last_message_at = message.created_at
    db.session.add(message)
    try:
        db.session.flush()
    except IntegrityError:  # the same client_id raced in from another request: hand back that one
        db.session.rollback()
        existing = _existing(sender_id, client_id, conversation_id) if client_id else None
        if existing is None:
            raise
        return present(message_dict(existing)), False
    _notify_recipients(message, recipients)
    data = message_dict(message)
    participant_ids = conversation.participant_ids
    db.session.commit()  # persisted before broadcast; nothing below touches the database

    cache.add(conversation.id, data)
    public = present(data)
    emit_to_conversation("message:new", public, conversation.id, participant_ids, skip_sid=skip_sid)
    return public, True


def _notify_recipients(message, recipients):
    sender_name = db.session.scalar(sa.select(User.full_name).where(User.id == message.sender_id))
    preview = message.body[:140] if message.body.strip() else f"{len(message.attachments)} attachment(s)"
    for user_id in recipients:
        notifications.notify(user_id, "message", f"New message from {sender_name}", preview,
                             {"conversation_id": message.conversation_id, "message_id": message.id,
                              "sender_id": message.sender_id})


def list_messages(user_id, conversation_id, before=None, limit=DEFAULT_LIMIT):
    """A page of messages, newest first, older than ``before``; next_before is the cursor for the next page."""
    conversations.get_for_participant(conversation_id, user_id)
    limit = max(1, min(limit, MAX_LIMIT))
    if before is None and limit <= cache.HISTORY_SIZE:
        generation, cached = cache.recent(conversation_id)
        if cached is not None:
            items = cached["items"][:limit]
            has_more = len(cached["items"]) > limit or cached["more"]
            return _page(items, has_more)
        items, has_more = _from_database(conversation_id, None, cache.HISTORY_SIZE)
        cache.fill(conversation_id, generation, items, has_more)
        return _page(items[:limit], has_more or len(items) > limit)
    items, has_more = _from_database(conversation_id, before, limit)
    return _page(items, has_more)


def _from_database(conversation_id, before, limit):
    stmt = sa.select(Message).where(Message.conversation_id == conversation_id)
    if before is not None:
        stmt = stmt.where(Message.id < before)
    rows = list(db.session.scalars(stmt.order_by(Message.id.desc()).limit(limit + 1)))
    return [message_dict(m) for m in rows[:limit]], len(rows) > limit


def _page(items, has_more):
    return {"messages": [present(m) for m in items],
            "next_before": items[-1]["id"] if has_more and items else None}


def mark_read(user_id, conversation_id, up_to_message_id, skip_sid=None):
    """Move the reader's marker forward (never back) and tell the other participants."""
    conversation = conversations.get_for_participant(conversation_id, user_id)
    message = db.session.get(Message, up_to_message_id)
    if message is None or message.conversation_id != conversation.id:
        raise NotFound("No such message in this conversation.",
                       errors={"up_to_message_id": ["Not a message of this conversation."]})
    db.session.execute(
        sa.update(ConversationParticipant)
        .where(ConversationParticipant.conversation_id == conversation.id,
               ConversationParticipant.user_id == user_id,
               ConversationParticipant.last_read_message_id < up_to_message_id)
        .values(last_read_message_id=up_to_message_id)
    )
    last_read = db.session.scalar(
        sa.select(ConversationParticipant.last_read_message_id)
        .where(ConversationParticipant.conversation_id == conversation.id, ConversationParticipant.user_id == user_id)
    )
    unread = conversations.summaries([conversation], user_id)[conversation.id]["unread_count"]
    participant_ids = conversation.participant_ids
    receipt = {"conversation_id": conversation.id, "user_id": user_id, "last_read_message_id": last_read}
    db.session.commit()
    emit_to_conversation("message:read", receipt, conversation.id, participant_ids, skip_sid=skip_sid)
    return {**receipt, "unread_count": unread}
