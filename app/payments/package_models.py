"""Packages and monthly plans a tutor offers, what students bought of them, and which booking used which credit.

Money moves only through the ledger (``app.payments.ledger``): these rows count credits and say how much of a
purchase's money is still in escrow (``held_minor``); see ``app.payments.packages`` for the accounting."""
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.common import time as clock
from app.common.time import UTCDateTime, utcnow
from app.extensions import db

OFFER_KINDS = ("package", "plan")
PURCHASE_STATES = ("active", "cancelled", "expired")
SUBSCRIPTION_STATES = ("active", "paused", "cancelled")
CREDIT_USE_STATES = ("used", "returned")


def _in(values):
    return ", ".join(f"'{value}'" for value in values)


class PackageOffer(db.Model):
    """A tutor's offer: a ``package`` (``sessions`` of ``duration_minutes`` at the tutor's rate less
    ``discount_percent``) or a monthly ``plan`` (``sessions`` per month for ``price_minor``)."""

    __tablename__ = "package_offers"
    __table_args__ = (
        sa.CheckConstraint(f"kind IN ({_in(OFFER_KINDS)})", name="kind_known"),
        sa.CheckConstraint("sessions > 0", name="sessions_positive"),
        sa.CheckConstraint("duration_minutes > 0", name="duration_positive"),
        sa.CheckConstraint("discount_percent >= 0 AND discount_percent <= 90", name="discount_in_range"),
        sa.CheckConstraint("(kind = 'plan') = (price_minor IS NOT NULL)", name="plan_has_price"),
        sa.CheckConstraint("price_minor IS NULL OR price_minor > 0", name="price_positive"),
        sa.Index("ix_package_offers_tutor", "tutor_id", "active"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tutor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), nullable=False)
    kind: Mapped[str] = mapped_column(sa.String(8), nullable=False)
    title: Mapped[str] = mapped_column(sa.String(120), nullable=False)
    sessions: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    duration_minutes: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    # Packages only (0 for plans): off the tutor's rate × duration × sessions.
    discount_percent: Mapped[int] = mapped_column(sa.SmallInteger, default=0, nullable=False)
    # Plans only: the monthly price, in ``currency`` (the tutor's when saved). Packages follow the tutor's rate.
    price_minor: Mapped[int | None] = mapped_column(sa.BigInteger)
    currency: Mapped[str | None] = mapped_column(sa.String(3))
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True, nullable=False)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)


class PackageSubscription(db.Model):
    """A student's subscription to a plan, on the terms of the day it started; one period at a time."""

    __tablename__ = "package_subscriptions"
    __table_args__ = (
        sa.CheckConstraint(f"state IN ({_in(SUBSCRIPTION_STATES)})", name="state_known"),
        sa.CheckConstraint("price_minor > 0 AND sessions > 0", name="terms_positive"),
        sa.Index("uq_package_subscriptions_live", "student_id", "offer_id", unique=True,
                 postgresql_where=sa.text("state IN ('active', 'paused')"),
                 sqlite_where=sa.text("state IN ('active', 'paused')")),
        sa.Index("ix_package_subscriptions_due", "state", "current_period_end"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    offer_id: Mapped[int] = mapped_column(sa.ForeignKey("package_offers.id", ondelete="RESTRICT"), nullable=False)
    student_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), nullable=False,
                                            index=True)
    tutor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), nullable=False)
    state: Mapped[str] = mapped_column(sa.String(12), default="active", nullable=False)
    cancel_at_period_end: Mapped[bool] = mapped_column(sa.Boolean, default=False, nullable=False)
    sessions: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    duration_minutes: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    price_minor: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(sa.String(3), nullable=False)
    # How many periods were charged; the current one is [current_period_start, current_period_end).
    periods: Mapped[int] = mapped_column(sa.Integer, default=0, nullable=False)
    current_period_start: Mapped[object] = mapped_column(UTCDateTime, nullable=False)
    current_period_end: Mapped[object] = mapped_column(UTCDateTime, nullable=False)
    paused_at: Mapped[object | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[object | None] = mapped_column(UTCDateTime)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class PackagePurchase(db.Model):
    """Credits a student paid for: a package, or one period of a subscription. ``held_minor`` is the money of
    the unused credits, still in escrow; a credit used by a booking moves its value to that booking's hold."""

    __tablename__ = "package_purchases"
    __table_args__ = (
        sa.CheckConstraint(f"state IN ({_in(PURCHASE_STATES)})", name="state_known"),
        sa.CheckConstraint(f"kind IN ({_in(OFFER_KINDS)})", name="kind_known"),
        sa.CheckConstraint("credits_used >= 0 AND credits_used <= credits_total", name="credits_in_range"),
        sa.CheckConstraint("held_minor >= 0 AND held_minor <= price_minor", name="held_in_range"),
        sa.CheckConstraint("price_minor >= credits_total", name="price_covers_credits"),
        sa.CheckConstraint("(kind = 'plan') = (subscription_id IS NOT NULL)", name="plan_has_subscription"),
        sa.Index("ix_package_purchases_student", "student_id", "state"),
        sa.Index("uq_package_purchases_period", "subscription_id", "period_start", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    offer_id: Mapped[int] = mapped_column(sa.ForeignKey("package_offers.id", ondelete="RESTRICT"), nullable=False)
    subscription_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("package_subscriptions.id", ondelete="RESTRICT"))
    student_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), nullable=False)
    tutor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), nullable=False)
    kind: Mapped[str] = mapped_column(sa.String(8), nullable=False)
    title: Mapped[str] = mapped_column(sa.String(120), nullable=False)
    duration_minutes: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    credits_total: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    credits_used: Mapped[int] = mapped_column(sa.Integer, default=0, nullable=False)
    price_minor: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    held_minor: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(sa.String(3), nullable=False)
    state: Mapped[str] = mapped_column(sa.String(12), default="active", nullable=False)
    # Plans: the period these credits are for (packages: NULL, their credits do not expire).
    period_start: Mapped[object | None] = mapped_column(UTCDateTime)
    period_end: Mapped[object | None] = mapped_column(UTCDateTime)
    # The wallet → escrow charge (posted right after the row, in the same database transaction).
    charge_transaction_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ledger_transactions.id"))
    # The refund of a cancelled package, or the tutor's pay for an ended period's unused credits.
    close_transaction_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ledger_transactions.id"))
    # Money given back (cancel) or paid to the tutor (lapse) when the purchase closed.
    closed_minor: Mapped[int | None] = mapped_column(sa.BigInteger)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    closed_at: Mapped[object | None] = mapped_column(UTCDateTime)

    @property
    def credits_left(self):
        """Credits a booking can still use (none once the purchase is cancelled or its period ended)."""
        if self.state != "active" or (self.period_end is not None and clock.utcnow() >= self.period_end):
            return 0
        return self.credits_total - self.credits_used


class PackageCreditUse(db.Model):
    """One credit of a purchase paying for one booking: ``used`` while the booking's hold carries its value,
    ``returned`` when the booking was refunded in full and the credit went back to the purchase."""

    __tablename__ = "package_credit_uses"
    __table_args__ = (
        sa.CheckConstraint(f"state IN ({_in(CREDIT_USE_STATES)})", name="state_known"),
        sa.CheckConstraint("value_minor > 0", name="value_positive"),
        sa.Index("uq_package_credit_uses_booking_used", "booking_id", unique=True,
                 postgresql_where=sa.text("state = 'used'"), sqlite_where=sa.text("state = 'used'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_id: Mapped[int] = mapped_column(sa.ForeignKey("package_purchases.id", ondelete="RESTRICT"),
                                             nullable=False, index=True)
    # scheduling's booking (payments sits below scheduling: no foreign key, like payment_holds.cause_id).
    booking_id: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, index=True)
    hold_id: Mapped[int] = mapped_column(sa.ForeignKey("payment_holds.id", ondelete="RESTRICT"), nullable=False)
    value_minor: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    state: Mapped[str] = mapped_column(sa.String(10), default="used", nullable=False)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    returned_at: Mapped[object | None] = mapped_column(UTCDateTime)
