"""matching: the interaction log and learned ranking models

Revision ID: 0027
Revises: 0022

- ``match_requests``: one row per POST /matches response (request id given to the client, arm, model version,
  whether the order was a randomised exploration, compact request features).
- ``match_impressions``: each tutor shown (rank, score, the seven parts as a JSON list).
- ``match_outcomes``: what followed an impression (viewed, clicked, messaged, booked, completed, repeat, rated).
- ``match_models``: trained models (version, features, weights, metrics).
- ``match_settings``: the admin's A/B switch (the learned arm's share of students).
Rows older than MATCH_LOG_RETENTION_DAYS are pruned by a periodic job.
"""
import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "match_requests",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("arm", sa.String(length=8), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=True),
        sa.Column("explore", sa.Boolean(), nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["student_id"], ["users.id"], name=op.f("fk_match_requests_student_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_match_requests")),
    )
    op.create_index("ix_match_requests_created_at", "match_requests", ["created_at"])
    op.create_index("ix_match_requests_student_created", "match_requests", ["student_id", "created_at"])
    op.create_table(
        "match_impressions",
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("tutor_id", sa.Integer(), nullable=False),
        sa.Column("rank", sa.SmallInteger(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("parts", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["match_requests.id"],
                                name=op.f("fk_match_impressions_request_id_match_requests"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("request_id", "tutor_id", name=op.f("pk_match_impressions")),
    )
    op.create_index("ix_match_impressions_tutor_id", "match_impressions", ["tutor_id"])
    op.create_table(
        "match_outcomes",
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("tutor_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["request_id", "tutor_id"], ["match_impressions.request_id", "match_impressions.tutor_id"],
                                name=op.f("fk_match_outcomes_request_id_match_impressions"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("request_id", "tutor_id", "kind", name=op.f("pk_match_outcomes")),
    )
    op.create_index("ix_match_outcomes_booking_id", "match_outcomes", ["booking_id"])
    op.create_table(
        "match_models",
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("features", sa.JSON(), nullable=False),
        sa.Column("weights", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("trained_on", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_match_models")),
    )
    op.create_table(
        "match_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("learned_share", sa.Float(), nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_match_settings")),
    )


def downgrade():
    op.drop_table("match_settings")
    op.drop_table("match_models")
    op.drop_index("ix_match_outcomes_booking_id", table_name="match_outcomes")
    op.drop_table("match_outcomes")
    op.drop_index("ix_match_impressions_tutor_id", table_name="match_impressions")
    op.drop_table("match_impressions")
    op.drop_index("ix_match_requests_student_created", table_name="match_requests")
    op.drop_index("ix_match_requests_created_at", table_name="match_requests")
    op.drop_table("match_requests")
