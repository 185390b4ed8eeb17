"""Analytics: the activity log, the daily rollups and the days they cover

Revision ID: 0026
Revises: 0022
"""
import sqlalchemy as sa
from alembic import op


revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "analytics_activity",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('login', 'api', 'chat', 'booking')", name=op.f("ck_analytics_activity_kind_known")),
        sa.PrimaryKeyConstraint("user_id", "day", "kind", name=op.f("pk_analytics_activity")),
    )
    op.create_index("ix_analytics_activity_day", "analytics_activity", ["day"])
    op.create_table(
        "analytics_daily",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("metric", sa.String(length=48), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "metric", "subject", "currency", name=op.f("pk_analytics_daily")),
    )
    op.create_table(
        "analytics_rollup_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("rolled_up_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_analytics_rollup_days")),
    )


def downgrade():
    op.drop_table("analytics_rollup_days")
    op.drop_table("analytics_daily")
    op.drop_index("ix_analytics_activity_day", table_name="analytics_activity")
    op.drop_table("analytics_activity")
