"""conversations.booking_id references bookings (the two tables landed on parallel branches)

Revision ID: 0006
Revises: 0004
"""
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_conversations_booking_id_bookings"), "bookings", ["booking_id"], ["id"], ondelete="CASCADE"
        )


def downgrade():
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_conversations_booking_id_bookings"), type_="foreignkey")
