"""Review tables: two-way session reviews, flags, helpful votes, the moderation audit trail and the
incremental rating aggregates (per tutor, per tutor and month).

A review *counts* in the aggregates when it is written by the student, released and visible; ``counted``
records whether its numbers are currently inside ``tutor_rating_stats`` / ``tutor_rating_monthly`` so
every release, edit, hide and restore adjusts them exactly once (see ``aggregation.py``).
"""
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from app.common.models import TimestampMixin
from app.common.time import UTCDateTime, utcnow
from app.extensions import db

AUTHOR_ROLES = ("student", "tutor")
STATUSES = ("visible", "hidden", "removed")
STUDENT_DIMENSIONS = ("clarity", "knowledge", "responsiveness", "punctuality", "overall")
TUTOR_DIMENSIONS = ("preparedness", "engagement", "punctuality")
ALL_DIMENSIONS = ("clarity", "knowledge", "responsiveness", "punctuality", "overall", "preparedness", "engagement")
MODERATION_ACTIONS = ("hide", "restore", "remove", "approve")


def _in(values):
    return ", ".join(f"'{value}'" for value in values)


def _rating_checks():
    return [sa.CheckConstraint(f"{name} IS NULL OR ({name} BETWEEN 1 AND 5)", name=f"{name}_range")
            for name in ALL_DIMENSIONS]


class Review(TimestampMixin, db.Model):
    """One review of a session by one participant (student → tutor or tutor → student)."""

    __tablename__ = "reviews"
    __table_args__ = (
        sa.UniqueConstraint("booking_id", "author_id", name="uq_reviews_booking_author"),
        sa.CheckConstraint(f"author_role IN ({_in(AUTHOR_ROLES)})", name="author_role_known"),
        sa.CheckConstraint(f"status IN ({_in(STATUSES)})", name="status_known"),
        *_rating_checks(),
        sa.Index("ix_reviews_tutor_public", "tutor_id", "author_role", "released_at"),
        sa.Index("ix_reviews_student", "student_id", "author_role"),
        sa.Index("ix_reviews_queue", "queued", "created_at"),
        sa.Index("ix_reviews_unreleased_window", "released_at", "window_closes_at"),
        sa.Index("ix_reviews_created_at", "created_at"),  # analytics' quality figures of a window of days
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(sa.ForeignKey("bookings.id", ondelete="CASCADE"), nullable=False)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    author_role: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    # Copies of the booking's participants, so lists and aggregates need no join.
    tutor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    student_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    clarity: Mapped[int | None] = mapped_column(sa.SmallInteger)
    knowledge: Mapped[int | None] = mapped_column(sa.SmallInteger)
    responsiveness: Mapped[int | None] = mapped_column(sa.SmallInteger)
    punctuality: Mapped[int | None] = mapped_column(sa.SmallInteger)
    overall: Mapped[int | None] = mapped_column(sa.SmallInteger)
    preparedness: Mapped[int | None] = mapped_column(sa.SmallInteger)
    engagement: Mapped[int | None] = mapped_column(sa.SmallInteger)
    comment: Mapped[str] = mapped_column(sa.Text, default="", nullable=False)
    would_recommend: Mapped[bool | None] = mapped_column(sa.Boolean)
    # Tutor → student only: shown to its author and to admins, never to the student or other tutors.
    private_note: Mapped[str | None] = mapped_column(sa.Text)
    # The private note as one reader may see it (its author and admins), set by the query that loads the row.
    visible_note: Mapped[str | None] = query_expression()
    reply: Mapped[str | None] = mapped_column(sa.Text)
    replied_at: Mapped[object | None] = mapped_column(UTCDateTime)
    # The 30-day review window of the session closes here (booking end + 30 days).
    window_closes_at: Mapped[object] = mapped_column(UTCDateTime, nullable=False)
    released_at: Mapped[object | None] = mapped_column(UTCDateTime)
    edited_at: Mapped[object | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(sa.String(10), default="visible", nullable=False)
    queued: Mapped[bool] = mapped_column(sa.Boolean, default=False, nullable=False)
    blocklisted: Mapped[bool] = mapped_column(sa.Boolean, default=False, nullable=False)
    flag_count: Mapped[int] = mapped_column(sa.Integer, default=0, nullable=False)
    helpful_count: Mapped[int] = mapped_column(sa.Integer, default=0, nullable=False)
    counted: Mapped[bool] = mapped_column(sa.Boolean, default=False, nullable=False)

    author = relationship("User", foreign_keys=[author_id], lazy="joined")
    flags = relationship("ReviewFlag", lazy="selectin", order_by="ReviewFlag.id", cascade="all, delete-orphan")

    @property
    def ratings(self):
        names = STUDENT_DIMENSIONS if self.author_role == "student" else TUTOR_DIMENSIONS
        return {name: getattr(self, name) for name in names}

    @property
    def is_public(self):
        return self.author_role == "student" and self.released_at is not None and self.status == "visible"

    @property
    def should_count(self):
        return self.is_public


class ReviewFlag(db.Model):
    __tablename__ = "review_flags"
    __table_args__ = (sa.UniqueConstraint("review_id", "user_id", name="uq_review_flags_review_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(sa.ForeignKey("reviews.id", ondelete="CASCADE"), nullable=False)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    reason: Mapped[str] = mapped_column(sa.String(500), nullable=False)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class ReviewHelpfulVote(db.Model):
    __tablename__ = "review_helpful_votes"

    review_id: Mapped[int] = mapped_column(sa.ForeignKey("reviews.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class ReviewModerationEvent(db.Model):
    """Audit trail: every admin decision on a review."""

    __tablename__ = "review_moderation_events"
    __table_args__ = (sa.CheckConstraint(f"action IN ({_in(MODERATION_ACTIONS)})", name="action_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(sa.ForeignKey("reviews.id", ondelete="CASCADE"), index=True,
                                           nullable=False)
    admin_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    reason: Mapped[str] = mapped_column(sa.String(500), nullable=False)
    at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class TutorRatingStats(db.Model):
    """Running totals of the counted reviews of one tutor (student → tutor, released, visible)."""

    __tablename__ = "tutor_rating_stats"

    tutor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    count: Mapped[int] = mapped_column(sa.Integer, default=0, nullable=False)
    sum_clarity: Mapped[int] = mapped_column(sa.Integer, default=0, nullable=False)
    sum_knowledge: Mapped[int] = mapped_column(sa.Integer, default=0, nullable=False)
    sum_responsiveness: Mapped[int] = mapped_column(sa.Integer, default=0, nullable=False)
    sum_punctuality: Mapped[int] = mapped_column(sa.Integer, default=0, nullable=False)
    sum_overall: Mapped[int] = mapped_column(sa.Integer, default=0, nullable=False)
    overall_1: Mapped[int] = mapped_column(sa.Integer, default=0, nullable=False)
    overall_2: Mapped[int] = mapped_column(sa.Integer, default=0, nullable=False)
    overall_3: Mapped[int] = mapped_column(sa.Integer, default=0, nullable=False)
    overall_4: Mapped[int] = mapped_column(sa.Integer, default=0, nullable=False)
    overall_5: Mapped[int] = mapped_column(sa.Integer, default=0, nullable=False)
    recommend_count: Mapped[int] = mapped_column(sa.Integer, default=0, nullable=False)
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)


class TutorRatingMonthly(db.Model):
    """Counted reviews per tutor and calendar month (UTC) of the review: the trend."""

    __tablename__ = "tutor_rating_monthly"

    tutor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    month: Mapped[object] = mapped_column(sa.Date, primary_key=True)
    count: Mapped[int] = mapped_column(sa.Integer, default=0, nullable=False)
    sum_overall: Mapped[int] = mapped_column(sa.Integer, default=0, nullable=False)
