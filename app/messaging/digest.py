"""Email digests of unread messages for offline recipients: at most one per conversation and hour."""
import logging
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from app.common.time import utcnow
from app.extensions import db
from app.messaging import presence
from app.messaging.models import ConversationParticipant, Message
from app.notifications import services as notifications
from app.notifications.models import OutboxMessage
from app.users.models import User

log = logging.getLogger(__name__)

DIGEST_INTERVAL = timedelta(hours=1)
# A message gets this long to be read live before it can go into a digest.
DIGEST_DELAY = timedelta(minutes=2)
MAX_LISTED = 10


def dedupe_key(conversation_id, user_id, now):
    return f"message-digest:{conversation_id}:{user_id}:{now:%Y%m%d%H}"


def _candidates(now):
    """(conversation_id, user_id, newest unread id) with unread messages not covered by an earlier digest."""
    p, m = ConversationParticipant, Message
    return db.session.execute(
        sa.select(p.conversation_id, p.user_id, sa.func.max(m.id))
        .join(m, m.conversation_id == p.conversation_id)
        .where(m.sender_id != p.user_id, m.id > p.last_read_message_id, m.id > p.last_digest_message_id,
               m.created_at <= now - DIGEST_DELAY)
        .where(sa.or_(p.last_digest_at.is_(None), p.last_digest_at <= now - DIGEST_INTERVAL))
        .group_by(p.conversation_id, p.user_id)
        .order_by(p.conversation_id, p.user_id)
    ).all()


def queue_message_digests(now=None):
    """Queue one digest email per (conversation, offline recipient) due; returns how many were queued.

    Each digest is written in a savepoint: one that another run queued first (its dedupe key) is skipped."""
    now = now or utcnow()
    rows = _candidates(now)
    online = presence.online([user_id for _, user_id, _ in rows])
    queued = 0
    for conversation_id, user_id, newest_id in rows:
        if online.get(user_id):
            continue
        try:
            with db.session.begin_nested():
                queued += _queue_one(conversation_id, user_id, newest_id, now)
        except IntegrityError:  # another run queued this hour's digest first
            continue
    return queued


def _queue_one(conversation_id, user_id, newest_id, now):
    key = dedupe_key(conversation_id, user_id, now)
    if db.session.scalar(sa.select(sa.exists().where(OutboxMessage.dedupe_key == key))):
        return 0
    participant = db.session.get(ConversationParticipant, (conversation_id, user_id))
    recipient = db.session.get(User, user_id)
    if recipient is None or not recipient.is_active:
        return 0
    unread = db.session.execute(
        sa.select(Message.body, User.full_name, sa.func.count(Message.id).over())
        .join(User, User.id == Message.sender_id)
        .where(Message.conversation_id == conversation_id, Message.sender_id != user_id,
               Message.id > participant.last_read_message_id, Message.id <= newest_id)
        .order_by(Message.id.desc())
        .limit(MAX_LISTED)
    ).all()
    if not unread:
        return 0
    total = unread[0][2]
    lines = [f"- {name}: {(body or '(attachment)')[:200]}" for body, name, _ in reversed(unread)]
    link = f"{current_app.config['FRONTEND_URL']}/messages/{conversation_id}"
    subject = f"You have {total} unread message{'s' if total != 1 else ''} on Tutorhub"
    text = "\n".join([f"Hi {recipient.full_name},", "", f"{subject}:", "", *lines, "",
                      f"Read and reply: {link}", "", "You get at most one such email per conversation per hour."])
    notifications.queue_email(recipient.email, subject, text, user_id=user_id, kind="message_digest",
                              dedupe_key=key)
    participant.last_digest_at = now
    participant.last_digest_message_id = newest_id
    return 1
