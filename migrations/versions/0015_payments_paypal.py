"""payments: PayPal deposits, refunds, payouts, payout accounts, webhook events, disputes

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 02:40:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
TIME = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "paypal_deposits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("approve_url", sa.String(length=500), nullable=True),
        sa.Column("capture_id", sa.String(length=64), nullable=True),
        sa.Column("captured_minor", sa.BigInteger(), nullable=True),
        sa.Column("refunded_minor", sa.BigInteger(), nullable=False),
        sa.Column("ledger_transaction_id", sa.Integer(), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("captured_at", TIME, nullable=True),
        sa.CheckConstraint("status IN ('created', 'captured')", name=op.f("ck_paypal_deposits_status_known")),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_paypal_deposits_amount_positive")),
        sa.CheckConstraint("refunded_minor >= 0 AND refunded_minor <= COALESCE(captured_minor, 0)",
                           name=op.f("ck_paypal_deposits_refunds_within_capture")),
        sa.CheckConstraint("(status = 'captured') = (capture_id IS NOT NULL)",
                           name=op.f("ck_paypal_deposits_captured_has_capture")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_paypal_deposits_user_id_users"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["ledger_transaction_id"], ["ledger_transactions.id"],
                                name=op.f("fk_paypal_deposits_ledger_transaction_id_ledger_transactions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paypal_deposits")),
        sa.UniqueConstraint("request_id", name=op.f("uq_paypal_deposits_request_id")),
        sa.UniqueConstraint("order_id", name=op.f("uq_paypal_deposits_order_id")),
        sa.UniqueConstraint("capture_id", name=op.f("uq_paypal_deposits_capture_id")),
    )
    op.create_index("ix_paypal_deposits_user", "paypal_deposits", ["user_id", "id"])

    op.create_table(
        "paypal_refunds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deposit_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("paypal_refund_id", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("ledger_transaction_id", sa.Integer(), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_paypal_refunds_amount_positive")),
        sa.ForeignKeyConstraint(["deposit_id"], ["paypal_deposits.id"],
                                name=op.f("fk_paypal_refunds_deposit_id_paypal_deposits"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_paypal_refunds_user_id_users"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["ledger_transaction_id"], ["ledger_transactions.id"],
                                name=op.f("fk_paypal_refunds_ledger_transaction_id_ledger_transactions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paypal_refunds")),
        sa.UniqueConstraint("paypal_refund_id", name=op.f("uq_paypal_refunds_paypal_refund_id")),
        sa.UniqueConstraint("request_id", name=op.f("uq_paypal_refunds_request_id")),
    )
    op.create_index("ix_paypal_refunds_deposit", "paypal_refunds", ["deposit_id", "id"])

    op.create_table(
        "payout_accounts",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("paypal_email", sa.String(length=254), nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_payout_accounts_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_payout_accounts")),
    )

    op.create_table(
        "payouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("receiver_email", sa.String(length=254), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("sender_batch_id", sa.String(length=64), nullable=False),
        sa.Column("paypal_batch_id", sa.String(length=64), nullable=True),
        sa.Column("failure_reason", sa.String(length=200), nullable=True),
        sa.Column("ledger_transaction_id", sa.Integer(), nullable=True),
        sa.Column("return_transaction_id", sa.Integer(), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.CheckConstraint("status IN ('pending', 'succeeded', 'failed')", name=op.f("ck_payouts_status_known")),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_payouts_amount_positive")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_payouts_user_id_users"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["ledger_transaction_id"], ["ledger_transactions.id"],
                                name=op.f("fk_payouts_ledger_transaction_id_ledger_transactions")),
        sa.ForeignKeyConstraint(["return_transaction_id"], ["ledger_transactions.id"],
                                name=op.f("fk_payouts_return_transaction_id_ledger_transactions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payouts")),
        sa.UniqueConstraint("sender_batch_id", name=op.f("uq_payouts_sender_batch_id")),
        sa.UniqueConstraint("paypal_batch_id", name=op.f("uq_payouts_paypal_batch_id")),
    )
    op.create_index("ix_payouts_user", "payouts", ["user_id", "id"])

    op.create_table(
        "paypal_webhook_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=24), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("received_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paypal_webhook_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_paypal_webhook_events_event_id")),
    )
    op.create_index("ix_paypal_webhook_events_resource_id", "paypal_webhook_events", ["resource_id"])

    op.create_table(
        "paypal_disputes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dispute_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.String(length=80), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("capture_id", sa.String(length=64), nullable=True),
        sa.Column("deposit_id", sa.Integer(), nullable=True),
        sa.Column("last_event_type", sa.String(length=64), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(["deposit_id"], ["paypal_deposits.id"],
                                name=op.f("fk_paypal_disputes_deposit_id_paypal_deposits"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paypal_disputes")),
        sa.UniqueConstraint("dispute_id", name=op.f("uq_paypal_disputes_dispute_id")),
    )
    op.create_index("ix_paypal_disputes_capture_id", "paypal_disputes", ["capture_id"])


def downgrade():
    op.drop_index("ix_paypal_disputes_capture_id", table_name="paypal_disputes")
    op.drop_table("paypal_disputes")
    op.drop_index("ix_paypal_webhook_events_resource_id", table_name="paypal_webhook_events")
    op.drop_table("paypal_webhook_events")
    op.drop_index("ix_payouts_user", table_name="payouts")
    op.drop_table("payouts")
    op.drop_table("payout_accounts")
    op.drop_index("ix_paypal_refunds_deposit", table_name="paypal_refunds")
    op.drop_table("paypal_refunds")
    op.drop_index("ix_paypal_deposits_user", table_name="paypal_deposits")
    op.drop_table("paypal_deposits")
