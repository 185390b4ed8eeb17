"""PayPal's side of payments: deposits (orders and their captures), refunds of deposits, payouts to tutors,
received webhook events and disputes. Money moves only through the ledger (``app.payments.ledger``); these rows
say what happened at PayPal and point at the ledger transactions it caused."""
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.common.models import JSONType
from app.common.time import UTCDateTime, utcnow
from app.extensions import db

DEPOSIT_STATES = ("created", "captured")
PAYOUT_STATES = ("pending", "succeeded", "failed")


class Deposit(db.Model):
    """Wallet money paid in through a PayPal order: created (waiting for the buyer's approval), then captured
    once; refunds give back at most what the capture still holds."""

    __tablename__ = "paypal_deposits"
    __table_args__ = (
        sa.CheckConstraint("status IN ('created', 'captured')", name="status_known"),
        sa.CheckConstraint("amount_minor > 0", name="amount_positive"),
        sa.CheckConstraint("refunded_minor >= 0 AND refunded_minor <= COALESCE(captured_minor, 0)",
                           name="refunds_within_capture"),
        sa.CheckConstraint("(status = 'captured') = (capture_id IS NOT NULL)", name="captured_has_capture"),
        sa.Index("ix_paypal_deposits_user", "user_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), nullable=False)
    amount_minor: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(sa.String(3), nullable=False)
    status: Mapped[str] = mapped_column(sa.String(12), default="created", nullable=False)
    # The PayPal-Request-Id the order was created with (also the order's custom_id).
    request_id: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    order_id: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    approve_url: Mapped[str | None] = mapped_column(sa.String(500))
    capture_id: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    captured_minor: Mapped[int | None] = mapped_column(sa.BigInteger)
    refunded_minor: Mapped[int] = mapped_column(sa.BigInteger, default=0, nullable=False)
    ledger_transaction_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ledger_transactions.id"))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    captured_at: Mapped[object | None] = mapped_column(UTCDateTime)


class DepositRefund(db.Model):
    """Part (or all) of a deposit's capture given back to the payer's PayPal account."""

    __tablename__ = "paypal_refunds"
    __table_args__ = (
        sa.CheckConstraint("amount_minor > 0", name="amount_positive"),
        sa.Index("ix_paypal_refunds_deposit", "deposit_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    deposit_id: Mapped[int] = mapped_column(sa.ForeignKey("paypal_deposits.id", ondelete="RESTRICT"), nullable=False)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), nullable=False)
    amount_minor: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(sa.String(3), nullable=False)
    # PayPal's refund status (COMPLETED, PENDING...); a refund PayPal made on its own arrives by webhook.
    status: Mapped[str] = mapped_column(sa.String(24), nullable=False)
    paypal_refund_id: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    request_id: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    ledger_transaction_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ledger_transactions.id"))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class PayoutAccount(db.Model):
    """Where a tutor's payouts go: a PayPal account's email."""

    __tablename__ = "payout_accounts"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    paypal_email: Mapped[str] = mapped_column(sa.String(254), nullable=False)
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)


class Payout(db.Model):
    """A tutor's withdrawal of ``tutor_payable`` money as a PayPal Payout; a failed one returns the money."""

    __tablename__ = "payouts"
    __table_args__ = (
        sa.CheckConstraint("status IN ('pending', 'succeeded', 'failed')", name="status_known"),
        sa.CheckConstraint("amount_minor > 0", name="amount_positive"),
        sa.Index("ix_payouts_user", "user_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), nullable=False)
    amount_minor: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(sa.String(3), nullable=False)
    receiver_email: Mapped[str] = mapped_column(sa.String(254), nullable=False)
    status: Mapped[str] = mapped_column(sa.String(12), default="pending", nullable=False)
    # Our sender_batch_id (and PayPal-Request-Id): PayPal refuses a second batch with it.
    sender_batch_id: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    paypal_batch_id: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    failure_reason: Mapped[str | None] = mapped_column(sa.String(200))
    ledger_transaction_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ledger_transactions.id"))
    return_transaction_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ledger_transactions.id"))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)


class WebhookEvent(db.Model):
    """A verified PayPal webhook event, applied once: its PayPal event id is unique."""

    __tablename__ = "paypal_webhook_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    event_type: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    resource_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    # What applying it did: applied, already_applied, unmatched, ignored.
    outcome: Mapped[str] = mapped_column(sa.String(24), nullable=False)
    payload: Mapped[dict] = mapped_column(JSONType, nullable=False)
    received_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class Dispute(db.Model):
    """A PayPal dispute (CUSTOMER.DISPUTE.*), kept for the dispute queue: its latest status and the capture."""

    __tablename__ = "paypal_disputes"

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    status: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    reason: Mapped[str | None] = mapped_column(sa.String(80))
    amount_minor: Mapped[int | None] = mapped_column(sa.BigInteger)
    currency: Mapped[str | None] = mapped_column(sa.String(3))
    capture_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    deposit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("paypal_deposits.id", ondelete="SET NULL"))
    last_event_type: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    payload: Mapped[dict] = mapped_column(JSONType, nullable=False)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)
