"""marketplace correctness (issue 14): review approval, user admin audit trail

Revision ID: 0018
Revises: 0013

- ``review_moderation_events.action`` also accepts ``approve`` (flags dismissed, the review stays visible).
- ``user_admin_events``: the audit trail of admin role changes, deactivations and reactivations.
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0018"
down_revision = "0013"
branch_labels = None
depends_on = None

OLD_ACTIONS = "action IN ('hide', 'restore', 'remove')"
NEW_ACTIONS = "action IN ('hide', 'restore', 'remove', 'approve')"


def _moderation_actions(check):
    with op.batch_alter_table("review_moderation_events", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_review_moderation_events_action_known"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_review_moderation_events_action_known"), sa.text(check))


def upgrade():
    _moderation_actions(NEW_ACTIONS)
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
    with op.batch_alter_table("user_admin_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_admin_events_user_id"))
    op.drop_table("user_admin_events")
    op.execute("DELETE FROM review_moderation_events WHERE action = 'approve'")
    _moderation_actions(OLD_ACTIONS)
