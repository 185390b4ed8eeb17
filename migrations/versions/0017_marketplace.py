"""marketplace correctness (issue 14): review approval, user admin audit trail

Revision ID: 0018
Revises: 0013

- ``review_moderation_events.action`` also accepts ``approve`` (flags dismissed, the review stays visible).
- ``user_admin_events``: the audit trail of admin role changes, deactivations and reactivations.
- ``messages.kind`` (``text`` / ``booking``) and ``messages.booking_id``: bookings appear as system lines in the
  one conversation of their student and tutor.
- One conversation per pair: every per-booking conversation is merged into the pair conversation of its two
  participants (its messages move there, read and digest markers keep the furthest, the pair's last message
  follows); where the pair has none, the booking conversation itself becomes the pair's. Booking conversations
  with other than two participants are left as they are. Downgrade drops the new columns and table; the merge
  is not undone (the threads it removed were duplicates).
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

OLD_ACTIONS = "action IN ('hide', 'restore', 'remove')"
NEW_ACTIONS = "action IN ('hide', 'restore', 'remove', 'approve')"


def _moderation_actions(check):
    with op.batch_alter_table("review_moderation_events", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_review_moderation_events_action_known"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_review_moderation_events_action_known"), sa.text(check))


def _merge_booking_conversations():
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT c.id, MIN(p.user_id), MAX(p.user_id), COUNT(p.user_id) FROM conversations c "
        "JOIN conversation_participants p ON p.conversation_id = c.id WHERE c.kind = 'booking' "
        "GROUP BY c.id ORDER BY c.id")).all()
    for conversation_id, low, high, count in rows:
        if count != 2 or low == high:
            continue
        pair = bind.execute(sa.text(
            "SELECT id FROM conversations WHERE user_low_id = :low AND user_high_id = :high"),
            {"low": low, "high": high}).scalar()
        if pair is None:
            bind.execute(sa.text(
                "UPDATE conversations SET kind = 'pair', user_low_id = :low, user_high_id = :high, booking_id = NULL "
                "WHERE id = :id"), {"low": low, "high": high, "id": conversation_id})
            continue
        _fold(bind, conversation_id, pair)


def _fold(bind, source, target):
    """Move ``source``'s messages into ``target``, keep the furthest markers, then drop ``source``."""
    params = {"source": source, "target": target}
    bind.execute(sa.text("UPDATE messages SET conversation_id = :target WHERE conversation_id = :source"), params)
    for column in ("last_read_message_id", "last_digest_message_id"):
        bind.execute(sa.text(
            f"UPDATE conversation_participants SET {column} = (SELECT MAX(o.{column}) FROM conversation_participants o "
            "WHERE o.user_id = conversation_participants.user_id AND o.conversation_id IN (:source, :target)) "
            "WHERE conversation_id = :target"), params)
    bind.execute(sa.text(
        "UPDATE conversations SET last_message_id = (SELECT MAX(id) FROM messages WHERE conversation_id = :target), "
        "last_message_at = (SELECT MAX(created_at) FROM messages WHERE conversation_id = :target) "
        "WHERE id = :target"), params)
    bind.execute(sa.text("DELETE FROM conversation_participants WHERE conversation_id = :source"), params)
    bind.execute(sa.text("DELETE FROM conversations WHERE id = :source"), params)


def upgrade():
    _moderation_actions(NEW_ACTIONS)
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=10), server_default="text", nullable=False))
        batch_op.add_column(sa.Column("booking_id", sa.Integer(), nullable=True))
    _merge_booking_conversations()
    op.create_table(
        "user_admin_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("admin_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=12), nullable=False),
        sa.Column("detail", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                  nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("action IN ('roles', 'deactivate', 'reactivate')",
                           name=op.f("ck_user_admin_events_action_known")),
        sa.ForeignKeyConstraint(["admin_id"], ["users.id"], name=op.f("fk_user_admin_events_admin_id_users"),
                                ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_user_admin_events_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_admin_events")),
    )
    with op.batch_alter_table("user_admin_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_admin_events_user_id"), ["user_id"], unique=False)


def downgrade():
    op.execute("DELETE FROM messages WHERE kind = 'booking'")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("booking_id")
        batch_op.drop_column("kind")
    with op.batch_alter_table("user_admin_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_admin_events_user_id"))
    op.drop_table("user_admin_events")
    op.execute("DELETE FROM review_moderation_events WHERE action = 'approve'")
    _moderation_actions(OLD_ACTIONS)
