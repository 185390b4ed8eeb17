"""payment_holds: an index for the tutor earnings report

Revision ID: 0021
Revises: 0018

GET /tutors/me/earnings reads the settlements of the holds a tutor is paid by (app/payments/reports.py): the
index on (payee_id, settle_transaction_id) finds them without scanning every hold.
"""
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_payment_holds_payee_settlement", "payment_holds", ["payee_id", "settle_transaction_id"])


def downgrade():
    op.drop_index("ix_payment_holds_payee_settlement", table_name="payment_holds")
