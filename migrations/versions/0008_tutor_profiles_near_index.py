"""PostgreSQL: a covering partial index for "listed tutors in a bounding box" (matching's nearby stream, search near)

Revision ID: 0009
Revises: 0007

ix_tutor_profiles_near: (latitude, longitude) INCLUDE (user_id, mode, currency, rate_cents) WHERE listed. The
nearby candidate stream of matching reads only these columns of the profiles in the box around the student, so
it becomes an index-only scan instead of a bitmap heap scan visiting one heap page per profile in the box
(100k tutors, Paris, 100 km: ~2,700 heap pages, 6-8 ms → ~2 ms). PostgreSQL only (INCLUDE), like
ix_tutor_profiles_rank: listed in app.common.models.POSTGRES_ONLY_INDEXES, not in the models.
"""
from alembic import op

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_tutor_profiles_near ON tutor_profiles (latitude, longitude) "
                   "INCLUDE (user_id, mode, currency, rate_cents) WHERE listed")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_tutor_profiles_near")
