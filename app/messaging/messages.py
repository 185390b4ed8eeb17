"""Sending, listing and reading messages; typing signals. A message is stored before it is announced."""
import sqlalchemy as sa

from app.common.errors import Conflict, Forbidden, Invalid, NotFound, TooManyRequests
from app.common.events import publish
from app.common.time import utcnow
from app.extensions import db
from app.messaging import attachments as attachment_service
from app.messaging import blocks, cache, conversations, presence, queries
from app.messaging.links import link_previews
from app.messaging.models import Conversation, ConversationParticipant, Message
from app.notifications import services as notifications

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
        "kind": message.kind or "text",
        "booking_id": message.booking_id,
    }


def present(data):
    """Public shape of a message: signed attachment URLs and typed link previews added."""
    out = {"kind": "text", "booking_id": None, **data}
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
    """Store a message and announce it (``message.created``; ``notification.created`` for each recipient).
    Returns (public message, created); a repeated client_id returns the stored message, created False.

    The common case is one Redis call (the rate limit) and one statement (``queries.store_message``): the
    insert itself checks participation and blocks, and the unique (sender_id, client_id) makes a retry insert
    nothing. Why a send was refused is looked up only then, answering as the rules apply: not a participant
    (404), an already stored client_id (the stored message), a client_id of another conversation (409),
    invalid content (422), too many messages (429), blocked (403). ``skip_sid``: the sender's socket, which
    gets the ack instead of an echo.
    """
    attachment_ids = list(attachment_ids or [])
    for _attempt in (1, 2):
        try:
            _validate_content(body, attachment_ids)
            counted = presence.check_message_rate(sender_id)
        except (Invalid, TooManyRequests):
            duplicate = _refused(sender_id, conversation_id, client_id)
            if duplicate is not None:
                return duplicate
            raise
        now = utcnow()
        stored = _store(sender_id, conversation_id, body, client_id, attachment_ids, now)
        if stored is not None:
            break
        try:
            duplicate = _refused(sender_id, conversation_id, client_id, blocked_check=True)
        except (NotFound, Conflict):
            presence.refund_message_rate(counted)  # refused before the rate limit counts
            raise
        presence.refund_message_rate(counted)  # a retry is not a new message; or nothing refuses it any more
        if duplicate is not None:
            return duplicate
    else:
        raise Conflict("The message could not be stored; send it again.")
    return _announce(sender_id, conversation_id, body, client_id, now, stored, skip_sid), True


def _preview(body, attachment_count):
    return body[:140] if body.strip() else f"{attachment_count} attachment(s)"


def _store(sender_id, conversation_id, body, client_id, attachment_ids, now):
    """Write the message, its conversation's stamp and the recipients' notifications, then claim its
    attachments. Returns (message id, attachments, notification rows), or None when the insert was refused."""
    files = list(dict.fromkeys(attachment_ids))
    params = {"cid": conversation_id, "sender": sender_id, "body": body, "client_id": client_id, "now": now,
              "preview": _preview(body, len(files))}
    stored = queries.store_message(params, standalone=not files)
    if stored is None:
        return None
    message_id, notified = stored
    claimed = attachment_service.claim_for_message(sender_id, files)
    for attachment in claimed:
        attachment.message_id = message_id
    return message_id, claimed, notified


def _announce(sender_id, conversation_id, body, client_id, now, stored, skip_sid):
    """Publish the notifications and the message; returns the public message (what the ack carries)."""
    message_id, files, notified = stored
    public = present({"id": message_id, "conversation_id": conversation_id, "sender_id": sender_id, "body": body,
                      "client_id": client_id, "created_at": now.isoformat(),
                      "attachments": [attachment_service.attachment_dict(a) for a in files]})
    notifications.announce_created(notified)
    participant_ids = sorted({sender_id, *(row.user_id for row in notified)})
    publish("message.created", message=public, participant_ids=participant_ids, skip_sid=skip_sid)
    return public


def _refused(sender_id, conversation_id, client_id, blocked_check=False):
    """Why a send did not go through: raises 404/409/403, or returns the stored message of a repeated
    client_id as (public message, False). None when it is not refused for those reasons."""
    conversation = conversations.get_for_participant(conversation_id, sender_id)
    if client_id:
        existing = _existing(sender_id, client_id, conversation_id)
        if existing is not None:
            return present(message_dict(existing)), False
    if blocked_check:
        recipients = [uid for uid in conversation.participant_ids if uid != sender_id]
        if blocks.blocked_by_any(sender_id, recipients):
            raise Forbidden("A participant of this conversation does not accept messages from you.")
    return None


def list_messages(user_id, conversation_id, before=None, limit=DEFAULT_LIMIT):
    """A page of messages, newest first, older than ``before``; next_before is the cursor for the next page."""
    # The participation check also reads the history cache's stamp (a column read: never a stale ORM copy).
    row = db.session.execute(
        sa.select(Conversation.last_message_id)
        .join(ConversationParticipant)
        .where(Conversation.id == conversation_id, ConversationParticipant.user_id == user_id)
    ).first()
    if row is None:
        raise NotFound("No such conversation.")
    stamp = row[0]
    limit = max(1, min(limit, MAX_LIMIT))
    if before is None and limit <= cache.HISTORY_SIZE:
        cached = cache.recent(conversation_id, stamp)
        if cached is not None:
            items = cached["items"][:limit]
            has_more = len(cached["items"]) > limit or cached["more"]
            return _page(items, has_more)
        items, has_more = _from_database(conversation_id, None, cache.HISTORY_SIZE)
        cache.fill(conversation_id, stamp, items, has_more)
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
    """Move the reader's marker forward (never back) and announce it (``message.read``)."""
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
    publish("message.read", conversation_id=conversation.id, user_id=user_id, last_read_message_id=last_read,
            participant_ids=conversation.participant_ids, skip_sid=skip_sid)
    return {"conversation_id": conversation.id, "user_id": user_id, "last_read_message_id": last_read,
            "unread_count": unread}


def signal_typing(user_id, conversation_id, is_typing, skip_sid=None):
    """Announce that a participant is typing (or stopped: ``conversation.typing``); True when announced.

    A start is announced at most once per user and conversation every presence.TYPING_THROTTLE_MS."""
    conversation = conversations.get_for_participant(conversation_id, user_id)
    allowed = presence.allow_typing(user_id, conversation.id)
    if is_typing and not allowed:
        return False
    publish("conversation.typing", conversation_id=conversation.id, user_id=user_id, is_typing=is_typing,
            participant_ids=conversation.participant_ids, skip_sid=skip_sid)
    return True


def post_booking_line(student_id, tutor_id, booking_id, actor_id, body):
    """A system line (kind "booking") about a booking in the conversation of its student and tutor, created on
    first use, and announced like any message (``message.created``); scheduling notifies people itself."""
    conversation, _ = conversations.pair_conversation(student_id, tutor_id)
    sender_id = actor_id if actor_id in (student_id, tutor_id) else tutor_id
    now = utcnow()
    message = Message(conversation_id=conversation.id, sender_id=sender_id, body=body[:MAX_BODY], kind="booking",
                      booking_id=booking_id, created_at=now)
    db.session.add(message)
    db.session.flush()
    conversation.last_message_at, conversation.last_message_id = now, message.id
    public = present(message_dict(message))
    publish("message.created", message=public, participant_ids=sorted({student_id, tutor_id}), skip_sid=None)
    return public
