"""A read-only look at the chat of two users (the admin portal's dispute page): never creates a conversation."""
import sqlalchemy as sa

from app.extensions import db
from app.messaging.messages import message_dict, present
from app.messaging.models import Conversation, Message

PAIR_HISTORY_LIMIT = 200


def pair_history(user_id, other_id, limit=PAIR_HISTORY_LIMIT):
    """The latest ``limit`` messages (booking lines included) of the two users' conversation, oldest first, and
    whether older ones were left out: ``{"conversation_id", "messages", "truncated"}`` (no conversation: empty)."""
    low, high = sorted((user_id, other_id))
    conversation_id = db.session.scalar(sa.select(Conversation.id).where(Conversation.user_low_id == low,
                                                                         Conversation.user_high_id == high))
    if conversation_id is None:
        return {"conversation_id": None, "messages": [], "truncated": False}
    rows = list(db.session.scalars(sa.select(Message).where(Message.conversation_id == conversation_id)
                                   .order_by(Message.id.desc()).limit(limit + 1)))
    messages = [present(message_dict(m)) for m in reversed(rows[:limit])]
    return {"conversation_id": conversation_id, "messages": messages, "truncated": len(rows) > limit}
