"""payments: packages and monthly plans (offers, subscriptions, purchases, credit uses)

Revision ID: 0020
Revises: 0018

- ``package_offers``: a tutor's packages (N sessions of a length, a discount off the rate) and monthly plans
  (N sessions a month, a price).
- ``package_subscriptions``: a student's subscription to a plan, one live (active or paused) per plan.
- ``package_purchases``: credits bought (a package, or one month of a plan) and the money of the unused ones
  still in escrow (``held_minor``); one row per subscription month.
- ``package_credit_uses``: which booking used which purchase's credit (``used`` / ``returned``).
"""
import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)


def _fk(table, column, target, ondelete="RESTRICT"):
    return sa.ForeignKeyConstraint([column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"),
                                   ondelete=ondelete)


def _offers():
    op.create_table(
        "package_offers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tutor_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("discount_percent", sa.SmallInteger(), nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.CheckConstraint("kind IN ('package', 'plan')", name=op.f("ck_package_offers_kind_known")),
        sa.CheckConstraint("sessions > 0", name=op.f("ck_package_offers_sessions_positive")),
        sa.CheckConstraint("duration_minutes > 0", name=op.f("ck_package_offers_duration_positive")),
        sa.CheckConstraint("discount_percent >= 0 AND discount_percent <= 90",
                           name=op.f("ck_package_offers_discount_in_range")),
        sa.CheckConstraint("(kind = 'plan') = (price_minor IS NOT NULL)", name=op.f("ck_package_offers_plan_has_price")),
        sa.CheckConstraint("price_minor IS NULL OR price_minor > 0", name=op.f("ck_package_offers_price_positive")),
        _fk("package_offers", "tutor_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_package_offers")),
    )
    op.create_index("ix_package_offers_tutor", "package_offers", ["tutor_id", "active"])


def _subscriptions():
    op.create_table(
        "package_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("offer_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("tutor_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("cancel_at_period_end", sa.Boolean(), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("periods", sa.Integer(), nullable=False),
        sa.Column("current_period_start", TIME, nullable=False),
        sa.Column("current_period_end", TIME, nullable=False),
        sa.Column("paused_at", TIME, nullable=True),
        sa.Column("cancelled_at", TIME, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.CheckConstraint("state IN ('active', 'paused', 'cancelled')",
                           name=op.f("ck_package_subscriptions_state_known")),
        sa.CheckConstraint("price_minor > 0 AND sessions > 0", name=op.f("ck_package_subscriptions_terms_positive")),
        _fk("package_subscriptions", "offer_id", "package_offers"),
        _fk("package_subscriptions", "student_id", "users"),
        _fk("package_subscriptions", "tutor_id", "users"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_package_subscriptions")),
    )
    op.create_index(op.f("ix_package_subscriptions_student_id"), "package_subscriptions", ["student_id"])
    op.create_index("ix_package_subscriptions_due", "package_subscriptions", ["state", "current_period_end"])
    op.create_index("uq_package_subscriptions_live", "package_subscriptions", ["student_id", "offer_id"],
                    unique=True, postgresql_where=sa.text("state IN ('active', 'paused')"),
                    sqlite_where=sa.text("state IN ('active', 'paused')"))


def _purchases():
    op.create_table(
        "package_purchases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("offer_id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=True),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("tutor_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("credits_total", sa.Integer(), nullable=False),
        sa.Column("credits_used", sa.Integer(), nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=False),
        sa.Column("held_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("period_start", TIME, nullable=True),
        sa.Column("period_end", TIME, nullable=True),
        sa.Column("charge_transaction_id", sa.Integer(), nullable=True),
        sa.Column("close_transaction_id", sa.Integer(), nullable=True),
        sa.Column("closed_minor", sa.BigInteger(), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("closed_at", TIME, nullable=True),
        sa.CheckConstraint("state IN ('active', 'cancelled', 'expired')", name=op.f("ck_package_purchases_state_known")),
        sa.CheckConstraint("kind IN ('package', 'plan')", name=op.f("ck_package_purchases_kind_known")),
        sa.CheckConstraint("credits_used >= 0 AND credits_used <= credits_total",
                           name=op.f("ck_package_purchases_credits_in_range")),
        sa.CheckConstraint("held_minor >= 0 AND held_minor <= price_minor", name=op.f("ck_package_purchases_held_in_range")),
        sa.CheckConstraint("price_minor >= credits_total", name=op.f("ck_package_purchases_price_covers_credits")),
        sa.CheckConstraint("(kind = 'plan') = (subscription_id IS NOT NULL)",
                           name=op.f("ck_package_purchases_plan_has_subscription")),
        _fk("package_purchases", "offer_id", "package_offers"),
        _fk("package_purchases", "subscription_id", "package_subscriptions"),
        _fk("package_purchases", "student_id", "users"),
        _fk("package_purchases", "tutor_id", "users"),
        sa.ForeignKeyConstraint(["charge_transaction_id"], ["ledger_transactions.id"],
                                name=op.f("fk_package_purchases_charge_transaction_id_ledger_transactions")),
        sa.ForeignKeyConstraint(["close_transaction_id"], ["ledger_transactions.id"],
                                name=op.f("fk_package_purchases_close_transaction_id_ledger_transactions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_package_purchases")),
    )
    op.create_index("ix_package_purchases_student", "package_purchases", ["student_id", "state"])
    op.create_index("uq_package_purchases_period", "package_purchases", ["subscription_id", "period_start"],
                    unique=True)


def _credit_uses():
    op.create_table(
        "package_credit_uses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("purchase_id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.BigInteger(), nullable=False),
        sa.Column("hold_id", sa.Integer(), nullable=False),
        sa.Column("value_minor", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("returned_at", TIME, nullable=True),
        sa.CheckConstraint("state IN ('used', 'returned')", name=op.f("ck_package_credit_uses_state_known")),
        sa.CheckConstraint("value_minor > 0", name=op.f("ck_package_credit_uses_value_positive")),
        _fk("package_credit_uses", "purchase_id", "package_purchases"),
        _fk("package_credit_uses", "hold_id", "payment_holds"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_package_credit_uses")),
    )
    op.create_index(op.f("ix_package_credit_uses_purchase_id"), "package_credit_uses", ["purchase_id"])
    op.create_index(op.f("ix_package_credit_uses_booking_id"), "package_credit_uses", ["booking_id"])
    op.create_index("uq_package_credit_uses_booking_used", "package_credit_uses", ["booking_id"], unique=True,
                    postgresql_where=sa.text("state = 'used'"), sqlite_where=sa.text("state = 'used'"))


def upgrade():
    _offers()
    _subscriptions()
    _purchases()
    _credit_uses()


def downgrade():
    op.drop_table("package_credit_uses")
    op.drop_table("package_purchases")
    op.drop_table("package_subscriptions")
    op.drop_table("package_offers")
