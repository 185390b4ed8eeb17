"""analytics: indexes on the timestamps its day figures are read by (bookings' lifecycle, messages, reviews)

Revision ID: 0028
Revises: 0027

Analytics reads the bookings touched in a window of UTC days (created, confirmed, completed, cancelled or
updated in it), and the messages and reviews created in it: for today's live figures on every report request and
for the nightly rollup. Without indexes on those timestamps each read scanned the whole table; with one index per
timestamp PostgreSQL reads the window (the bookings through a BitmapOr of five short index ranges).
"""
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

INDEXES = (
    *(("bookings", column) for column in ("created_at", "confirmed_at", "completed_at", "cancelled_at",
                                          "updated_at")),
    ("messages", "created_at"),
    ("reviews", "created_at"),
)


def upgrade():
    for table, column in INDEXES:
        op.create_index(f"ix_{table}_{column}", table, [column])


def downgrade():
    for table, column in INDEXES:
        op.drop_index(f"ix_{table}_{column}", table_name=table)
