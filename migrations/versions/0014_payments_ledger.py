"""payments: double-entry ledger (accounts, transactions, entries), escrow holds, idempotency keys, booking prices

Revision ID: 0015
Revises: 0013

PostgreSQL also gets:

- ``ledger_entries_balanced()`` with the deferred constraint trigger ``trg_ledger_entries_balanced``: at commit,
  every transaction that received entries must sum to zero per currency;
- ``ledger_immutable()`` with ``trg_ledger_entries_immutable`` and ``trg_ledger_transactions_immutable``:
  UPDATE and DELETE are refused (TRUNCATE, for tests and resets, is not a row operation).

bookings gains ``price_minor`` and ``currency`` (NULL for bookings made before payments existed).
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0015"
down_revision = "0013"
branch_labels = None
depends_on = None

USER_KINDS = "'wallet', 'tutor_payable'"
ACCOUNT_KINDS = "'wallet', 'tutor_payable', 'escrow', 'platform_revenue', 'external:paypal'"
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

BALANCED = """
CREATE FUNCTION ledger_entries_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    unbalanced record;
BEGIN
    SELECT currency, sum(amount_minor) AS total INTO unbalanced
    FROM ledger_entries WHERE transaction_id = NEW.transaction_id
    GROUP BY currency HAVING sum(amount_minor) <> 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger transaction % does not balance: % %', NEW.transaction_id, unbalanced.total,
            unbalanced.currency USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER trg_ledger_entries_balanced AFTER INSERT ON ledger_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entries_balanced();
"""
IMMUTABLE = """
CREATE FUNCTION ledger_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER trg_ledger_entries_immutable BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_immutable();
CREATE TRIGGER trg_ledger_transactions_immutable BEFORE UPDATE OR DELETE ON ledger_transactions
    FOR EACH ROW EXECUTE FUNCTION ledger_immutable();
"""


def upgrade():
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("balance_minor", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"kind IN ({ACCOUNT_KINDS})", name=op.f("ck_accounts_kind_known")),
        sa.CheckConstraint("balance_minor >= 0 OR kind LIKE 'external:%'",
                           name=op.f("ck_accounts_balance_not_negative")),
        sa.CheckConstraint(f"(owner_id IS NULL) = (kind NOT IN ({USER_KINDS}))",
                           name=op.f("ck_accounts_owner_matches_kind")),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_accounts_owner_id_users"),
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("id", "currency", name="uq_accounts_id_currency"),
    )
    op.create_index("uq_accounts_owner_kind_currency", "accounts", ["owner_id", "kind", "currency"], unique=True,
                    postgresql_where=sa.text("owner_id IS NOT NULL"), sqlite_where=sa.text("owner_id IS NOT NULL"))
    op.create_index("uq_accounts_platform_kind_currency", "accounts", ["kind", "currency"], unique=True,
                    postgresql_where=sa.text("owner_id IS NULL"), sqlite_where=sa.text("owner_id IS NULL"))
    op.create_table(
        "ledger_transactions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("cause_type", sa.String(length=40), nullable=False),
        sa.Column("cause_id", sa.BigInteger(), nullable=True),
        sa.Column("unique_key", sa.String(length=200), nullable=True),
        sa.Column("idempotency_key", sa.String(length=255), nullable=True),
        sa.Column("memo", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_transactions")),
        sa.UniqueConstraint("unique_key", name=op.f("uq_ledger_transactions_unique_key")),
    )
    op.create_index("ix_ledger_transactions_cause", "ledger_transactions", ["cause_type", "cause_id"])
    op.create_index(op.f("ix_ledger_transactions_created_at"), "ledger_transactions", ["created_at"])
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("transaction_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("amount_minor <> 0", name=op.f("ck_ledger_entries_amount_not_zero")),
        sa.ForeignKeyConstraint(["account_id", "currency"], ["accounts.id", "accounts.currency"],
                                name="fk_ledger_entries_account_currency"),
        sa.ForeignKeyConstraint(["transaction_id"], ["ledger_transactions.id"],
                                name=op.f("fk_ledger_entries_transaction_id_ledger_transactions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
    )
    op.create_index("ix_ledger_entries_account_id", "ledger_entries", ["account_id", "id"])
    op.create_index(op.f("ix_ledger_entries_transaction_id"), "ledger_entries", ["transaction_id"])
    op.create_table(
        "payment_holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cause_type", sa.String(length=40), nullable=False),
        sa.Column("cause_id", sa.BigInteger(), nullable=False),
        sa.Column("payer_id", sa.Integer(), nullable=False),
        sa.Column("payee_id", sa.Integer(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("hold_transaction_id", sa.Integer(), nullable=False),
        sa.Column("settle_transaction_id", sa.Integer(), nullable=True),
        sa.Column("release_after", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refund_percent", sa.SmallInteger(), nullable=True),
        sa.Column("outcome", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("state IN ('held', 'settled')", name=op.f("ck_payment_holds_state_known")),
        sa.CheckConstraint("amount_minor > 0", name=op.f("ck_payment_holds_amount_positive")),
        sa.ForeignKeyConstraint(["payer_id"], ["users.id"], name=op.f("fk_payment_holds_payer_id_users"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["payee_id"], ["users.id"], name=op.f("fk_payment_holds_payee_id_users"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["hold_transaction_id"], ["ledger_transactions.id"],
                                name=op.f("fk_payment_holds_hold_transaction_id_ledger_transactions")),
        sa.ForeignKeyConstraint(["settle_transaction_id"], ["ledger_transactions.id"],
                                name=op.f("fk_payment_holds_settle_transaction_id_ledger_transactions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_holds")),
    )
    op.create_index("uq_payment_holds_cause_held", "payment_holds", ["cause_type", "cause_id"], unique=True,
                    postgresql_where=sa.text("state = 'held'"), sqlite_where=sa.text("state = 'held'"))
    op.create_index("ix_payment_holds_due", "payment_holds", ["state", "release_after"])
    op.create_index("ix_payment_holds_payer", "payment_holds", ["payer_id", "state"])
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("response_status", sa.SmallInteger(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("response_headers", JSON, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("state IN ('in_flight', 'done')", name=op.f("ck_idempotency_keys_state_known")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_idempotency_keys_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_key"),
    )
    op.create_index("ix_idempotency_keys_expires_at", "idempotency_keys", ["expires_at"])
    with op.batch_alter_table("bookings") as batch:
        batch.add_column(sa.Column("price_minor", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("currency", sa.String(length=3), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(BALANCED)
        op.execute(IMMUTABLE)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER trg_ledger_transactions_immutable ON ledger_transactions")
        op.execute("DROP TRIGGER trg_ledger_entries_immutable ON ledger_entries")
        op.execute("DROP TRIGGER trg_ledger_entries_balanced ON ledger_entries")
        op.execute("DROP FUNCTION ledger_immutable()")
        op.execute("DROP FUNCTION ledger_entries_balanced()")
    with op.batch_alter_table("bookings") as batch:
        batch.drop_column("currency")
        batch.drop_column("price_minor")
    op.drop_table("idempotency_keys")
    op.drop_table("payment_holds")
    op.drop_table("ledger_entries")
    op.drop_table("ledger_transactions")
    op.drop_table("accounts")
