"""How quickly a user answers the messages people send them (read-only; the tutor impact dashboard uses it)."""
import sqlalchemy as sa

from app.extensions import db
from app.messaging.models import ConversationParticipant, Message


def reply_delays(user_id, since, until):
    """The user's answers in ``[since, until)``: one ``(received_at, replied_at)`` per run of messages others sent
    them (timed from the run's first message) that the user answered in the same conversation, plus how many runs
    were still unanswered at ``until``. Only messages people wrote count (``kind = 'text'``), not booking lines."""
    mine = sa.select(ConversationParticipant.conversation_id).where(ConversationParticipant.user_id == user_id)
    rows = db.session.execute(
        sa.select(Message.conversation_id, Message.sender_id, Message.created_at)
        .where(Message.conversation_id.in_(mine), Message.kind == "text",
               Message.created_at >= since, Message.created_at < until)
        .order_by(Message.conversation_id, Message.created_at, Message.id))
    waiting, delays = {}, []
    for conversation_id, sender_id, created_at in rows:
        if sender_id != user_id:
            waiting.setdefault(conversation_id, created_at)
        elif conversation_id in waiting:
            delays.append((waiting.pop(conversation_id), created_at))
    return {"replies": delays, "unanswered": len(waiting)}
