"""analytics: indexes on the bookings' lifecycle timestamps, for the reports' live day and the nightly rollup

Revision ID: 0028
Revises: 0027

Analytics reads the bookings touched in a window of UTC days (created, confirmed, completed, cancelled or
updated in it). Without an index on those timestamps every read of today's live figures and every nightly rollup
scanned the whole ``bookings`` table; with one index per timestamp PostgreSQL answers the window with a
BitmapOr of five short index ranges.
"""
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

COLUMNS = ("created_at", "confirmed_at", "completed_at", "cancelled_at", "updated_at")


def upgrade():
    for column in COLUMNS:
        op.create_index(f"ix_bookings_{column}", "bookings", [column])


def downgrade():
    for column in COLUMNS:
        op.drop_index(f"ix_bookings_{column}", table_name="bookings")
