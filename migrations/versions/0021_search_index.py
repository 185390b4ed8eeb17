"""PostgreSQL: a covering partial index of the listed tutors' ratings by id, for search's subject + window order

Revision ID: 0022
Revises: 0018

ix_tutor_profiles_listed_rating: tutor_profiles (user_id) INCLUDE (rating_bayes) WHERE listed. A search with a
subject (and level) and an availability window sorts the subject's listed tutors by rating before the
availability prefilter walks them in that order (app.matching.search._available_candidates): the ~1,500 tutors
of a subject and level at 100k tutors are probed by id. With this index the probes are index-only instead of one
heap page each. PostgreSQL only (INCLUDE), like ix_tutor_profiles_rank: listed in
app.common.models.POSTGRES_ONLY_INDEXES, not in the models.
"""
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_tutor_profiles_listed_rating ON tutor_profiles (user_id) "
                   "INCLUDE (rating_bayes) WHERE listed")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_tutor_profiles_listed_rating")
