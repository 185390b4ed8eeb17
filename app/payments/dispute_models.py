"""Disputes of a session's payment: the student's claim, the tutor's responses, both sides' evidence files and
the admin's resolution (a split of the held money). Payments owns them: opening one freezes the booking's escrow
hold (``payment_holds``), resolving one settles it.

One open dispute per cause: the partial unique index ``uq_disputes_open_cause`` (PostgreSQL and SQLite)."""
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.common.time import UTCDateTime, utcnow
from app.extensions import db

# Why a student disputes a session's payment.
DISPUTE_REASONS = ("tutor_no_show", "session_cut_short", "quality", "technical_problems", "not_as_described",
                   "other")
# open → resolved (an admin's split) or closed (the money was settled another way, e.g. an admin's override).
DISPUTE_STATES = ("open", "resolved", "closed")
PARTIES = ("student", "tutor")


def _in(values):
    return ", ".join(f"'{value}'" for value in values)


class PaymentDispute(db.Model):
    """A student's dispute of the money held for a session, frozen while it is open."""

    __tablename__ = "disputes"
    __table_args__ = (
        sa.CheckConstraint(f"state IN ({_in(DISPUTE_STATES)})", name="state_known"),
        sa.CheckConstraint(f"reason IN ({_in(DISPUTE_REASONS)})", name="reason_known"),
        sa.CheckConstraint("percent_to_student IS NULL OR percent_to_student BETWEEN 0 AND 100",
                           name="percent_in_range"),
        sa.CheckConstraint("(state = 'resolved') = (percent_to_student IS NOT NULL)", name="resolved_has_split"),
        sa.Index("uq_disputes_open_cause", "cause_type", "cause_id", unique=True,
                 postgresql_where=sa.text("state = 'open'"), sqlite_where=sa.text("state = 'open'")),
        sa.Index("ix_disputes_state", "state", "id"),
        sa.Index("ix_disputes_student", "student_id", "id"),
        sa.Index("ix_disputes_tutor", "tutor_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # What the money was held for (a booking).
    cause_type: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    cause_id: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    hold_id: Mapped[int] = mapped_column(sa.ForeignKey("payment_holds.id", ondelete="RESTRICT"), nullable=False,
                                         index=True)
    student_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), nullable=False)
    tutor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), nullable=False)
    amount_minor: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(sa.String(3), nullable=False)
    reason: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    details: Mapped[str] = mapped_column(sa.Text, nullable=False)
    state: Mapped[str] = mapped_column(sa.String(12), default="open", nullable=False)
    # When the release would have paid the tutor had the dispute not frozen it.
    window_ends_at: Mapped[object] = mapped_column(UTCDateTime, nullable=False)
    # The resolution: this percent back to the student, the rest to the tutor minus commission.
    percent_to_student: Mapped[int | None] = mapped_column(sa.SmallInteger)
    resolution_note: Mapped[str | None] = mapped_column(sa.String(2000))
    resolved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    resolved_at: Mapped[object | None] = mapped_column(UTCDateTime)
    settle_transaction_id: Mapped[int | None] = mapped_column(sa.ForeignKey("ledger_transactions.id"))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    # Set by the service on every change (the clock it reads, so frozen test clocks agree).
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    responses = relationship("DisputeResponse", back_populates="dispute", order_by="DisputeResponse.id")
    evidence = relationship("DisputeEvidence", back_populates="dispute", order_by="DisputeEvidence.id")


class DisputeResponse(db.Model):
    """The tutor's answer to a dispute (several while it is open)."""

    __tablename__ = "dispute_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[int] = mapped_column(sa.ForeignKey("disputes.id", ondelete="CASCADE"), nullable=False,
                                            index=True)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), nullable=False)
    body: Mapped[str] = mapped_column(sa.Text, nullable=False)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    dispute = relationship("PaymentDispute", back_populates="responses")
    evidence = relationship("DisputeEvidence", back_populates="response", order_by="DisputeEvidence.id")


class DisputeEvidence(db.Model):
    """A file one party sent with the dispute (``response_id`` null: the student's opening) or a response, kept in
    the uploads storage (``app.common.storage``) and downloaded through signed, expiring URLs."""

    __tablename__ = "dispute_evidence"
    __table_args__ = (
        sa.CheckConstraint(f"party IN ({_in(PARTIES)})", name="party_known"),
        sa.CheckConstraint("size > 0", name="size_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[int] = mapped_column(sa.ForeignKey("disputes.id", ondelete="CASCADE"), nullable=False,
                                            index=True)
    response_id: Mapped[int | None] = mapped_column(sa.ForeignKey("dispute_responses.id", ondelete="CASCADE"))
    uploader_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), nullable=False)
    party: Mapped[str] = mapped_column(sa.String(12), nullable=False)
    storage_key: Mapped[str] = mapped_column(sa.String(200), nullable=False, unique=True)
    content_type: Mapped[str] = mapped_column(sa.String(120), nullable=False)
    size: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    filename: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    dispute = relationship("PaymentDispute", back_populates="evidence")
    response = relationship("DisputeResponse", back_populates="evidence")
