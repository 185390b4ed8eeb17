"""busy_blocks: a note and a colleague to suggest, for tutors' own busy time and out-of-office periods

Revision ID: 0017
Revises: 0013

Tutors now create busy blocks themselves (POST /tutors/me/busy, source 'manual') and out-of-office periods
(POST /tutors/me/out-of-office, source 'out_of_office'); both are busy_blocks rows, so slot expansion (the
slot_inputs function of 0011 included), booking checks, search and matching already respect them. The period
carries an optional note and an optional colleague (a tutor) to suggest to the students told about it.
No FX table: price filters require a currency instead (see app/matching/schemas.py).
"""
import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("busy_blocks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("note", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("colleague_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(op.f("fk_busy_blocks_colleague_id_users"), "users", ["colleague_id"], ["id"],
                                    ondelete="SET NULL")


def downgrade():
    with op.batch_alter_table("busy_blocks", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_busy_blocks_colleague_id_users"), type_="foreignkey")
        batch_op.drop_column("colleague_id")
        batch_op.drop_column("note")
