"""conversations.last_message_id: the id of the message that last touched the conversation (history cache stamp)

Revision ID: 0008
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_message_id", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_column("last_message_id")
