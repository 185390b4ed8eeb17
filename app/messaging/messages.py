"""Sending, listing and reading messages. Messages are committed before they are broadcast."""

import sqlalchemy as sa
from flask import current_app

from app.common.database import autocommit_engine
from app.common.errors import Conflict, Forbidden, Invalid, NotFound, TooManyRequests
from app.common.gate import FifoGate
from app.common.models import JSONType
from app.common.time import UTCDateTime, utcnow
from app.extensions import db
from app.messaging import attachments as attachment_service
from app.messaging import blocks, cache, conversations, presence
from app.messaging.links import link_previews
from app.messaging.models import (
    Conversation,
    ConversationParticipant,
    Message,
    UserBlock,
)
from app.messaging.realtime import emit_to_conversation
from app.notifications import services as notifications
from app.notifications.models import Notification
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


_STATEMENTS = {}

# PostgreSQL, no attachments (nearly every message): the three writes as one statement, so a send is one
# round trip on an autocommit connection. Same rules as _statements() below, whose docstring explains them.
_PG_SEND = sa.text("""
WITH message AS (
    INSERT INTO messages (conversation_id, sender_id, body, client_id, created_at)
    SELECT :cid, :sender, :body, :client_id, :now
    WHERE EXISTS (SELECT 1 FROM conversation_participants WHERE conversation_id = :cid AND user_id = :sender)
      AND NOT EXISTS (SELECT 1 FROM user_blocks b
                      JOIN conversation_participants other
                        ON other.user_id = b.blocker_id AND other.conversation_id = :cid
                      WHERE b.blocked_id = :sender AND other.user_id <> :sender)
    ON CONFLICT (sender_id, client_id) DO NOTHING
    RETURNING id
), touched AS (
    UPDATE conversations SET last_message_at = :now, last_message_id = message.id
    FROM message WHERE conversations.id = :cid
), notified AS (
    INSERT INTO notifications (user_id, kind, title, body, data, created_at)
    SELECT p.user_id, 'message', substr('New message from ' || u.full_name, 1, 200), :preview,
           jsonb_build_object('conversation_id', CAST(:cid AS integer), 'message_id', message.id,
                              'sender_id', CAST(:sender AS integer)),
           :now
    FROM message
    JOIN conversation_participants p ON p.conversation_id = :cid AND p.user_id <> :sender
    JOIN users u ON u.id = :sender
    RETURNING id, user_id, title
)
SELECT message.id, notified.id, notified.user_id, notified.title FROM message LEFT JOIN notified ON true
""").bindparams(sa.bindparam("cid", type_=sa.Integer()), sa.bindparam("sender", type_=sa.Integer()),
                sa.bindparam("body", type_=sa.Text()), sa.bindparam("client_id", type_=sa.String()),
                sa.bindparam("preview", type_=sa.Text()), sa.bindparam("now", type_=UTCDateTime()))


def send_gate():
    """The app's limit on socket sends writing at once (config MESSAGE_SEND_CONCURRENCY; 0: none).

    A send holds a pooled connection for its statement. Hundreds of sends in flight (a burst, or a server
    short of CPU) would all check one out: past the pool's size the pool opens and closes overflow
    connections, or makes callers wait inside the pool in no particular order. Waiting here instead, before
    a connection is taken, keeps the pool within its size and lets sends write in arrival order.
    """
    gate = current_app.extensions.get("messaging.send_gate")
    if gate is None:
        gate = current_app.extensions["messaging.send_gate"] = FifoGate(
            current_app.config.get("MESSAGE_SEND_CONCURRENCY", 0))
    return gate


def _statements():
    """The writes of a send, built once per dialect with bound parameters (no per-call SQL building).

    * insert: the message, only when the sender takes part in the conversation and no other participant has
      blocked them; a repeated (sender_id, client_id) inserts nothing (ON CONFLICT DO NOTHING). Returns the id.
    * touch: the conversation's last_message_at and last_message_id (the history cache's stamp).
    * notify: an in-app notification for every other participant, titled with the sender's name. Returns them.
    """
    dialect = db.session.get_bind().dialect.name
    if dialect not in _STATEMENTS:
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        elif dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:  # pragma: no cover (the project runs on PostgreSQL, tests also on SQLite)
            raise RuntimeError(f"Unsupported database: {dialect}")
        m, p, b = Message.__table__, ConversationParticipant.__table__, UserBlock.__table__
        n, u = Notification.__table__, User.__table__
        other = p.alias("other")
        cid, sender = sa.bindparam("cid", type_=sa.Integer()), sa.bindparam("sender", type_=sa.Integer())
        now = sa.bindparam("now", type_=UTCDateTime())
        takes_part = sa.exists().where(p.c.conversation_id == cid, p.c.user_id == sender)
        blocked = sa.exists().where(b.c.blocked_id == sender, b.c.blocker_id == other.c.user_id,
                                    other.c.conversation_id == cid, other.c.user_id != sender)
        values = sa.select(cid, sender, sa.bindparam("body", type_=sa.Text()),
                           sa.bindparam("client_id", type_=sa.String()), now).where(takes_part, ~blocked)
        insert_message = (
            insert(m).from_select(["conversation_id", "sender_id", "body", "client_id", "created_at"], values)
            .on_conflict_do_nothing(index_elements=["sender_id", "client_id"])
            .returning(m.c.id)
        )
        c = Conversation.__table__
        touch = sa.update(c).where(c.c.id == cid).values(last_message_at=now,
                                                         last_message_id=sa.bindparam("message_id", type_=sa.Integer()))
        title = sa.func.substr(sa.literal("New message from ") + u.c.full_name, 1, 200)
        recipients = (
            sa.select(p.c.user_id, sa.literal("message"), title, sa.bindparam("preview", type_=sa.Text()),
                      sa.bindparam("data", type_=JSONType), now)
            .join(u, u.c.id == sender)
            .where(p.c.conversation_id == cid, p.c.user_id != sender)
        )
        notify = (
            n.insert().from_select(["user_id", "kind", "title", "body", "data", "created_at"], recipients)
            .returning(n.c.id, n.c.user_id, n.c.title)
        )
        _STATEMENTS[dialect] = (insert_message, touch, notify)
    return _STATEMENTS[dialect]


def send_message(sender_id, conversation_id, body, client_id=None, attachment_ids=(), skip_sid=None):
    """Store a message and broadcast it. Returns (public message, created); a repeated client_id is a no-op.

    The common case costs one Redis call (the rate limit) and one statement (PostgreSQL) or one short
    transaction: the insert itself checks participation and blocks, and the unique (sender_id, client_id)
    makes a retry insert nothing. Why a send was refused is looked up only then, answering as the rules
    apply: not a participant (404), an already stored client_id (the stored message), a client_id of
    another conversation (409), invalid content (422), too many messages (429), blocked (403).
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
            presence.refund_message_rate(counted)  # as before: refused before the rate limit counts
            raise
        if duplicate is not None:
            presence.refund_message_rate(counted)  # a retry is not a new message
            return duplicate
        presence.refund_message_rate(counted)  # nothing refuses it any more (a block was lifted): once more
    else:
        raise Conflict("The message could not be stored; send it again.")

    message_id, files, notified = stored
    data = {"id": message_id, "conversation_id": conversation_id, "sender_id": sender_id, "body": body,
            "client_id": client_id, "created_at": now.isoformat(),
            "attachments": [attachment_service.attachment_dict(a) for a in files]}
    notifications.emit_now([
        (user_id, notifications.unread_notification_dict(
            notification_id, "message", title, _preview(body, files),
            {"conversation_id": conversation_id, "message_id": message_id, "sender_id": sender_id}, now))
        for notification_id, user_id, title in notified
    ])
    participant_ids = sorted({sender_id, *(user_id for _, user_id, _ in notified)})
    public = present(data)
    emit_to_conversation("message:new", public, conversation_id, participant_ids, skip_sid=skip_sid)
    return public, True


def _preview(body, files):
    return body[:140] if body.strip() else f"{len(files)} attachment(s)"


def _store(sender_id, conversation_id, body, client_id, attachment_ids, now):
    """Write and commit the message, its conversation's last_message_at and the recipients' notifications.

    Returns (message id, claimed attachments, [(notification id, user id, title)]), or None when the insert
    refused (not a participant, blocked, or the client_id is taken).
    """
    params = {"cid": conversation_id, "sender": sender_id, "body": body, "client_id": client_id, "now": now}
    if not attachment_ids and db.engine.dialect.name == "postgresql":
        params["preview"] = _preview(body, [])
        # A REST request that loaded its user writes in its transaction, then commits. (registry.has(): a
        # socket event has made no Session, and needs none made here.)
        if db.session.registry.has() and db.session().in_transaction():
            try:
                rows = db.session.connection().execute(_PG_SEND, params).all()
                db.session.commit()
            except Exception:
                db.session.rollback()
                raise
        else:  # a Socket.IO event: the statement is its own transaction, on a pooled connection of its own
            with send_gate(), autocommit_engine(db.engine).connect() as connection:
                rows = connection.execute(_PG_SEND, params).all()
        if not rows:
            return None
        return rows[0][0], [], [(nid, uid, title) for _, nid, uid, title in rows if nid is not None]

    insert_message, touch, notify = _statements()
    connection = db.session.connection()  # Core statements on the session's transaction: no ORM overhead
    try:
        message_id = connection.execute(insert_message, params).scalar()
        if message_id is None:
            db.session.rollback()
            return None
        files = attachment_service.claim_for_message(sender_id, attachment_ids)
        for attachment in files:
            attachment.message_id = message_id
        connection.execute(touch, {**params, "message_id": message_id})
        data = {"conversation_id": conversation_id, "message_id": message_id, "sender_id": sender_id}
        notified = connection.execute(notify, {**params, "preview": _preview(body, files), "data": data}).all()
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return message_id, files, [tuple(row) for row in notified]


def _refused(sender_id, conversation_id, client_id, blocked_check=False):
    """Why a send did not go through: raises 404/409/403, or returns the stored message of a repeated
    client_id as (public message, False). None when it is not refused for those reasons."""
    try:
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
    finally:
        db.session.rollback()


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
