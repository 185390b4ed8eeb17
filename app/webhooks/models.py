"""Webhooks, the events they are sent, and each delivery's attempts (the delivery log)."""
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.common.models import JSONType, TimestampMixin
from app.common.time import UTCDateTime, utcnow
from app.extensions import db

SCOPES = ("own", "all")
DELIVERY_STATUSES = ("pending", "retrying", "delivered", "failed", "skipped")


class Webhook(TimestampMixin, db.Model):
    """An integrator's endpoint: where to POST, which events, and the signing secret (encrypted at rest)."""

    __tablename__ = "webhooks"
    __table_args__ = (
        sa.CheckConstraint(sa.text("scope IN ('own', 'all')"), name="scope_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    url: Mapped[str] = mapped_column(sa.String(2048), nullable=False)
    description: Mapped[str] = mapped_column(sa.String(200), default="", nullable=False)
    events: Mapped[list] = mapped_column(JSONType, default=list, nullable=False)
    scope: Mapped[str] = mapped_column(sa.String(10), default="own", nullable=False)
    secret_encrypted: Mapped[str] = mapped_column(sa.Text, nullable=False)
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True, nullable=False)
    disabled_reason: Mapped[str | None] = mapped_column(sa.String(200))
    # Deliveries in a row that ended failed; reset by a delivered one. Past WEBHOOKS_DISABLE_AFTER_FAILURES the
    # webhook is switched off (active false, disabled_reason set).
    failure_streak: Mapped[int] = mapped_column(sa.Integer, default=0, nullable=False)
    secret_rotated_at: Mapped[object | None] = mapped_column(UTCDateTime)


class WebhookEvent(db.Model):
    """One event as integrators see it: a stable id, its type, when it happened and its data."""

    __tablename__ = "webhook_events"

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    type: Mapped[str] = mapped_column(sa.String(60), nullable=False)
    data: Mapped[dict] = mapped_column(JSONType, default=dict, nullable=False)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class WebhookDelivery(TimestampMixin, db.Model):
    """One event owed to one webhook: its status, attempts so far and when the next one is due."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.UniqueConstraint("webhook_id", "event_id", name="uq_webhook_deliveries_webhook_event"),
        sa.Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        sa.Index("ix_webhook_deliveries_webhook_created", "webhook_id", "created_at"),
        sa.CheckConstraint(
            sa.text("status IN ('pending', 'retrying', 'delivered', 'failed', 'skipped')"), name="status_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(sa.ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False)
    event_id: Mapped[str] = mapped_column(sa.ForeignKey("webhook_events.id", ondelete="CASCADE"), nullable=False,
                                          index=True)
    status: Mapped[str] = mapped_column(sa.String(10), default="pending", nullable=False)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0, nullable=False)
    # Due time while pending or retrying; a claimed delivery's lease end (a dead worker's claim comes back then).
    next_attempt_at: Mapped[object | None] = mapped_column(UTCDateTime)
    last_response_code: Mapped[int | None] = mapped_column(sa.Integer)
    last_duration_ms: Mapped[int | None] = mapped_column(sa.Integer)
    last_error: Mapped[str | None] = mapped_column(sa.String(300))
    delivered_at: Mapped[object | None] = mapped_column(UTCDateTime)

    event: Mapped[WebhookEvent] = relationship()
    attempt_rows: Mapped[list["WebhookAttempt"]] = relationship(
        order_by="WebhookAttempt.number", lazy="selectin", cascade="all, delete-orphan", passive_deletes=True)


class WebhookAttempt(db.Model):
    """One HTTP POST of a delivery: its response code (None when no answer), duration and error."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (
        sa.UniqueConstraint("delivery_id", "number", name="uq_webhook_attempts_delivery_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"),
                                             nullable=False)
    number: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    attempted_at: Mapped[object] = mapped_column(UTCDateTime, nullable=False)
    response_code: Mapped[int | None] = mapped_column(sa.Integer)
    duration_ms: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    error: Mapped[str | None] = mapped_column(sa.String(300))
