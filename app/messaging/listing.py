"""Conversation list entries: participants (with presence), last message and unread count, without N+1."""
import sqlalchemy as sa

from app.extensions import db
from app.messaging import conversations, presence
from app.messaging.messages import message_dict, present
from app.users.models import User


def conversation_views(rows, user_id):
    """Public dicts for a page of conversations: a fixed number of queries whatever the page size."""
    summaries = conversations.summaries(rows, user_id)
    user_ids = {p.user_id for c in rows for p in c.participants}
    names = dict(db.session.execute(sa.select(User.id, User.full_name).where(User.id.in_(user_ids))).all()) \
        if user_ids else {}
    online = presence.online(sorted(user_ids))
    views = []
    for conversation in rows:
        summary = summaries.get(conversation.id, {"last_message": None, "unread_count": 0})
        last = summary["last_message"]
        views.append({
            "id": conversation.id,
            "kind": conversation.kind,
            "booking_id": conversation.booking_id,
            "participants": [
                {"id": p.user_id, "full_name": names.get(p.user_id), "online": online.get(p.user_id, False),
                 "last_read_message_id": p.last_read_message_id}
                for p in sorted(conversation.participants, key=lambda p: p.user_id)
            ],
            "last_message": present(message_dict(last)) if last is not None else None,
            "unread_count": summary["unread_count"],
            "last_message_at": conversation.last_message_at.isoformat() if conversation.last_message_at else None,
            "created_at": conversation.created_at.isoformat(),
        })
    return views


def conversation_view(conversation, user_id):
    return conversation_views([conversation], user_id)[0]
