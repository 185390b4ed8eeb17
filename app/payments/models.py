"""Payments tables: accounts, ledger transactions and their entries, escrow holds.

The ledger is double-entry: a ``LedgerTransaction`` is a set of ``LedgerEntry`` rows whose amounts sum to zero
per currency. Entries are never updated or deleted. Each account caches its balance (the sum of its entries);
user and platform accounts carry ``CHECK (balance_minor >= 0)``, only ``external:*`` accounts (money outside the
platform, e.g. PayPal) go negative. On PostgreSQL migration 0015 adds:

* ``trg_ledger_entries_balanced``: a deferred constraint trigger checking at commit that every transaction's
  entries sum to zero per currency (SQLite: the service checks before writing);
* ``trg_ledger_entries_immutable`` / ``trg_ledger_transactions_immutable``: UPDATE and DELETE refused.

An entry's currency must be its account's: a composite foreign key (account_id, currency) → accounts(id, currency).
"""
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.common import time as clock
from app.common.time import UTCDateTime, utcnow
from app.extensions import db

# Accounts a user owns (one per kind and currency).
USER_KINDS = ("wallet", "tutor_payable")
# Accounts of the platform (one per kind and currency). ``external:*`` is money outside the platform.
PLATFORM_KINDS = ("escrow", "platform_revenue", "external:paypal")
ACCOUNT_KINDS = USER_KINDS + PLATFORM_KINDS
HOLD_STATES = ("held", "settled")


def _in(values):
    return ", ".join(f"'{value}'" for value in values)


class Account(db.Model):
    __tablename__ = "accounts"
    __table_args__ = (
        sa.CheckConstraint(f"kind IN ({_in(ACCOUNT_KINDS)})", name="kind_known"),
        sa.CheckConstraint("balance_minor >= 0 OR kind LIKE 'external:%'", name="balance_not_negative"),
        sa.CheckConstraint(f"(owner_id IS NULL) = (kind NOT IN ({_in(USER_KINDS)}))", name="owner_matches_kind"),
        sa.UniqueConstraint("id", "currency", name="uq_accounts_id_currency"),
        sa.Index("uq_accounts_owner_kind_currency", "owner_id", "kind", "currency", unique=True,
                 postgresql_where=sa.text("owner_id IS NOT NULL"), sqlite_where=sa.text("owner_id IS NOT NULL")),
        sa.Index("uq_accounts_platform_kind_currency", "kind", "currency", unique=True,
                 postgresql_where=sa.text("owner_id IS NULL"), sqlite_where=sa.text("owner_id IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # None for platform accounts.
    owner_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(sa.String(32), nullable=False)
    currency: Mapped[str] = mapped_column(sa.String(3), nullable=False)
    # The sum of the account's entries, kept in the same transaction as each entry.
    balance_minor: Mapped[int] = mapped_column(sa.BigInteger, default=0, nullable=False)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class LedgerTransaction(db.Model):
    """One movement of money: its entries sum to zero per currency; it names its cause."""

    __tablename__ = "ledger_transactions"
    __table_args__ = (
        sa.Index("ix_ledger_transactions_cause", "cause_type", "cause_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # What kind of movement: booking_hold, booking_settlement, deposit, refund, payout, ...
    kind: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    # What caused it: booking, package, payout, refund, dispute, deposit, course_order, seed, ...
    cause_type: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    cause_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    # Exactly once: a second transaction with the same key is refused by the unique index.
    unique_key: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    # The client's Idempotency-Key header of the request that moved the money, when there was one.
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(255))
    memo: Mapped[str | None] = mapped_column(sa.String(500))
    # Read through the module at insert time, so reports and tests see the clock a test froze.
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=lambda: clock.utcnow(), nullable=False,
                                               index=True)

    entries = relationship("LedgerEntry", back_populates="transaction", order_by="LedgerEntry.id")


class LedgerEntry(db.Model):
    """One leg: a signed amount on one account (positive credits it, negative debits it)."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        sa.CheckConstraint("amount_minor <> 0", name="amount_not_zero"),
        sa.ForeignKeyConstraint(["account_id", "currency"], ["accounts.id", "accounts.currency"],
                                name="fk_ledger_entries_account_currency"),
        sa.Index("ix_ledger_entries_account_id", "account_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    transaction_id: Mapped[int] = mapped_column(sa.ForeignKey("ledger_transactions.id"), index=True, nullable=False)
    account_id: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    currency: Mapped[str] = mapped_column(sa.String(3), nullable=False)
    amount_minor: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)

    transaction = relationship("LedgerTransaction", back_populates="entries")
    account = relationship("Account", primaryjoin="LedgerEntry.account_id == Account.id",
                           foreign_keys="LedgerEntry.account_id", viewonly=True)


class Hold(db.Model):
    """Money held in escrow for something not yet delivered (a booking); settled exactly once.

    ``release_after`` is set when the session completes (the dispute window); the release job settles holds
    past it. Settling locks the row and moves it to ``settled``; the settlement's ledger transaction has the
    unique key ``hold:<id>:settle``, so a retried job or two racing requests move the money once."""

    __tablename__ = "payment_holds"
    __table_args__ = (
        sa.CheckConstraint(f"state IN ({_in(HOLD_STATES)})", name="state_known"),
        sa.CheckConstraint("amount_minor > 0", name="amount_positive"),
        sa.Index("uq_payment_holds_cause_held", "cause_type", "cause_id", unique=True,
                 postgresql_where=sa.text("state = 'held'"), sqlite_where=sa.text("state = 'held'")),
        sa.Index("ix_payment_holds_due", "state", "release_after"),
        sa.Index("ix_payment_holds_payer", "payer_id", "state"),
        sa.Index("ix_payment_holds_payee_settlement", "payee_id", "settle_transaction_id"),  # earnings reports
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cause_type: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    cause_id: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    payer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), nullable=False)
    payee_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), nullable=False)
    amount_minor: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(sa.String(3), nullable=False)
    state: Mapped[str] = mapped_column(sa.String(12), default="held", nullable=False)
    hold_transaction_id: Mapped[int] = mapped_column(sa.ForeignKey("ledger_transactions.id"), nullable=False)
    settle_transaction_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ledger_transactions.id"))
    # Settled by the release job after this instant (set when the session completes).
    release_after: Mapped[object | None] = mapped_column(UTCDateTime)
    # How it was settled: refund_percent (0-100) back to the payer, the rest to the payee minus commission.
    refund_percent: Mapped[int | None] = mapped_column(sa.SmallInteger)
    outcome: Mapped[str | None] = mapped_column(sa.String(40))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    settled_at: Mapped[object | None] = mapped_column(UTCDateTime)
