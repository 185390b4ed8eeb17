"""Conversations (per pair of users or per booking), participants, messages, attachments, blocks."""
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.common.time import UTCDateTime, utcnow
from app.extensions import db

KINDS = ("pair", "booking")


class Conversation(db.Model):
    """A private conversation: one per unordered pair of users, or one per booking."""

    __tablename__ = "conversations"
    __table_args__ = (
        # The pair is stored ordered, so (a, b) and (b, a) hit the same unique key.
        sa.UniqueConstraint("user_low_id", "user_high_id", name="uq_conversations_pair"),
        sa.CheckConstraint(sa.text("kind IN ('pair', 'booking')"), name="kind_known"),
        sa.CheckConstraint(
            sa.text("(kind = 'pair' AND user_low_id IS NOT NULL AND user_high_id IS NOT NULL "
                    "AND user_low_id < user_high_id AND booking_id IS NULL) "
                    "OR (kind = 'booking' AND booking_id IS NOT NULL "
                    "AND user_low_id IS NULL AND user_high_id IS NULL)"),
            name="kind_shape",
        ),
        sa.Index("ix_conversations_last_message_at", "last_message_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    user_low_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    user_high_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    # bookings lives on the scheduling branch: the foreign key is added when both land.
    booking_id: Mapped[int | None] = mapped_column(sa.ForeignKey("bookings.id", ondelete="CASCADE"), unique=True)
    last_message_at: Mapped[object | None] = mapped_column(UTCDateTime)
    # Set by every new message to its own id (never max'ed): it changes on each write, so a copy of the recent
    # history stamped with it is current exactly while it is unchanged (see messaging/cache.py).
    last_message_id: Mapped[int | None] = mapped_column(sa.Integer)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    participants: Mapped[list["ConversationParticipant"]] = relationship(
        back_populates="conversation", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def participant_ids(self):
        return sorted(p.user_id for p in self.participants)


class ConversationParticipant(db.Model):
    __tablename__ = "conversation_participants"

    conversation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    # Everything up to this message id has been read by this participant.
    last_read_message_id: Mapped[int] = mapped_column(sa.Integer, default=0, nullable=False)
    # The newest message already covered by an email digest, and when that digest was queued.
    last_digest_message_id: Mapped[int] = mapped_column(sa.Integer, default=0, nullable=False)
    last_digest_at: Mapped[object | None] = mapped_column(UTCDateTime)
    joined_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    conversation: Mapped[Conversation] = relationship(back_populates="participants")


class Message(db.Model):
    __tablename__ = "messages"
    __table_args__ = (
        # A client retrying with the same client_id gets the stored message back, never a duplicate.
        sa.UniqueConstraint("sender_id", "client_id", name="uq_messages_sender_client"),
        sa.Index("ix_messages_conversation_id_id", "conversation_id", "id"),
        sa.Index("ix_messages_created_at", "created_at"),  # analytics' chat figures of a window of days
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False
    )
    sender_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    body: Mapped[str] = mapped_column(sa.Text, default="", nullable=False)
    client_id: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    # "text": written by a person; "booking": a system line about a booking between the two (booking_id).
    # Server default only: the send path inserts with INSERT ... SELECT inside a CTE, where a Python-side default
    # would be a bound parameter nobody fills.
    kind: Mapped[str] = mapped_column(sa.String(10), server_default="text", nullable=False)
    booking_id: Mapped[int | None] = mapped_column(sa.Integer)

    attachments: Mapped[list["Attachment"]] = relationship(
        back_populates="message", lazy="selectin", order_by="Attachment.id"
    )


class Attachment(db.Model):
    """An uploaded file; it belongs to its uploader until a message of theirs references it."""

    __tablename__ = "message_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    uploader_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    message_id: Mapped[int | None] = mapped_column(sa.ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    storage_key: Mapped[str] = mapped_column(sa.String(128), nullable=False)
    content_type: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    size: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    filename: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    message: Mapped[Message | None] = relationship(back_populates="attachments")


class UserBlock(db.Model):
    """blocker_id no longer receives new messages from blocked_id."""

    __tablename__ = "user_blocks"
    __table_args__ = (sa.CheckConstraint(sa.text("blocker_id <> blocked_id"), name="not_self"),)

    blocker_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    blocked_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
