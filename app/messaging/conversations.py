"""Conversations: one per unordered pair of users (bookings between them post system lines there; the per-booking
kind is legacy, merged into pairs by migration 0018); listing with last message and unread count."""
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.common.errors import Forbidden, Invalid, NotFound
from app.extensions import db
from app.messaging import blocks
from app.messaging.models import Conversation, ConversationParticipant, Message
from app.users import services as users


def conversation_room(conversation_id):
    return f"conversation:{conversation_id}"


def get_for_participant(conversation_id, user_id):
    """The conversation if ``user_id`` takes part in it; anyone else gets 404 (its existence is not revealed)."""
    conversation = db.session.scalar(
        sa.select(Conversation)
        .join(ConversationParticipant)
        .where(Conversation.id == conversation_id, ConversationParticipant.user_id == user_id)
    )
    if conversation is None:
        raise NotFound("No such conversation.")
    return conversation


def participant_ids(conversation_id):
    return list(db.session.scalars(
        sa.select(ConversationParticipant.user_id).where(ConversationParticipant.conversation_id == conversation_id)
    ))


def is_participant(conversation_id, user_id):
    return db.session.get(ConversationParticipant, (conversation_id, user_id)) is not None


def get_or_create_pair(user_id, other_id):
    """The private conversation of two users, created on first use (unique per unordered pair)."""
    if user_id == other_id:
        raise Invalid("You cannot start a conversation with yourself.", errors={"user_id": ["Must be another user."]})
    users.get_user(other_id)
    if blocks.blocked_by_any(user_id, [other_id]):
        raise Forbidden("This user does not accept messages from you.")
    return pair_conversation(user_id, other_id)


def pair_conversation(user_id, other_id):
    """(conversation, created): the one conversation of two users, whatever brought them together (messages,
    bookings); no block check (a booking's system lines still land there)."""
    low, high = sorted((user_id, other_id))
    stmt = sa.select(Conversation).where(Conversation.user_low_id == low, Conversation.user_high_id == high)
    conversation = db.session.scalar(stmt)
    if conversation is not None:
        return conversation, False
    conversation = Conversation(kind="pair", user_low_id=low, user_high_id=high)
    conversation.participants = [ConversationParticipant(user_id=low), ConversationParticipant(user_id=high)]
    return _insert_or_fetch(conversation, stmt)


def pair_conversation_id(user_id, other_id):
    """The id of the two users' conversation, or None (read only: nothing is created)."""
    low, high = sorted((user_id, other_id))
    return db.session.scalar(sa.select(Conversation.id).where(Conversation.user_low_id == low,
                                                              Conversation.user_high_id == high))


def add_booking_conversation(booking_id, participant_ids):
    """The conversation of a booking, created on first use; new participants are added to an existing one."""
    wanted = sorted(set(participant_ids))
    if not wanted:
        raise Invalid("A booking conversation needs participants.")
    stmt = sa.select(Conversation).where(Conversation.booking_id == booking_id)
    conversation = db.session.scalar(stmt)
    if conversation is None:
        # A booking is confirmed once (its row is locked for the change), so no concurrent creator here; a
        # duplicate would hit the unique booking_id and fail the caller's transaction as a 409.
        conversation = Conversation(kind="booking", booking_id=booking_id)
        conversation.participants = [ConversationParticipant(user_id=uid) for uid in wanted]
        db.session.add(conversation)
    present = set(conversation.participant_ids)
    conversation.participants.extend(ConversationParticipant(user_id=uid) for uid in wanted if uid not in present)
    return conversation


def _insert_or_fetch(conversation, stmt):
    """Insert, or when a concurrent request won the unique key, return the row it made (a savepoint keeps the
    caller's transaction usable after the conflict)."""
    try:
        with db.session.begin_nested():
            db.session.add(conversation)
    except IntegrityError:
        existing = db.session.scalar(stmt)
        if existing is None:
            raise
        return existing, False
    return conversation, True


def list_query(user_id):
    """A select of the user's conversations, most recently active first (for pagination)."""
    return (
        sa.select(Conversation)
        .join(ConversationParticipant)
        .where(ConversationParticipant.user_id == user_id)
        .order_by(sa.func.coalesce(Conversation.last_message_at, Conversation.created_at).desc(), Conversation.id.desc())
    )


def summaries(conversations, user_id):
    """Last message and unread count of each conversation, in a fixed number of queries (no N+1)."""
    ids = [c.id for c in conversations]
    if not ids:
        return {}
    last_ids = (
        sa.select(sa.func.max(Message.id)).where(Message.conversation_id.in_(ids)).group_by(Message.conversation_id)
    )
    last_messages = {m.conversation_id: m for m in db.session.scalars(sa.select(Message).where(Message.id.in_(last_ids)))}
    unread_rows = db.session.execute(
        sa.select(Message.conversation_id, sa.func.count(Message.id))
        .join(
            ConversationParticipant,
            sa.and_(ConversationParticipant.conversation_id == Message.conversation_id,
                    ConversationParticipant.user_id == user_id),
        )
        .where(Message.conversation_id.in_(ids), Message.sender_id != user_id,
               Message.id > ConversationParticipant.last_read_message_id)
        .group_by(Message.conversation_id)
    )
    unread = dict(unread_rows.all())
    return {cid: {"last_message": last_messages.get(cid), "unread_count": unread.get(cid, 0)} for cid in ids}


MAX_CONTACTS = 1000


def contacts_of(user_id):
    """Everyone sharing a conversation with the user (who may see their presence)."""
    mine = sa.select(ConversationParticipant.conversation_id).where(ConversationParticipant.user_id == user_id)
    return list(db.session.scalars(
        sa.select(ConversationParticipant.user_id).distinct()
        .where(ConversationParticipant.conversation_id.in_(mine), ConversationParticipant.user_id != user_id)
        .limit(MAX_CONTACTS)
    ))
