"""Progress tables: a student's learning goals and the tutor's note on a completed session.

A session note copies the booking's participants, subject and start so the dashboards read one table; the
booking itself stays scheduling's (read through its services, never written here).
"""
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.common.models import TimestampMixin
from app.common.time import UTCDateTime
from app.extensions import db

# The levels the app knows (tutors teach a subject at one of them: app.tutors.models.LEVELS).
LEVELS = ("primary", "secondary", "university", "professional")
MIN_HOURS, MAX_HOURS = 1, 1000
MIN_MARK, MAX_MARK = 1, 5


def _in(values):
    return ", ".join(f"'{value}'" for value in values)


class LearningGoal(TimestampMixin, db.Model):
    """A student's goal in one subject: a level to reach, hours to study, or both, by a date."""

    __tablename__ = "learning_goals"
    __table_args__ = (
        sa.CheckConstraint("target_level IS NOT NULL OR target_hours IS NOT NULL", name="has_target"),
        sa.CheckConstraint(f"target_level IS NULL OR target_level IN ({_in(LEVELS)})", name="level_known"),
        sa.CheckConstraint(f"target_hours IS NULL OR (target_hours BETWEEN {MIN_HOURS} AND {MAX_HOURS})",
                           name="hours_range"),
        sa.Index("ix_learning_goals_student", "student_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    subject: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    target_level: Mapped[str | None] = mapped_column(sa.String(20))
    target_hours: Mapped[int | None] = mapped_column(sa.Integer)
    target_date: Mapped[object] = mapped_column(sa.Date, nullable=False)
    note: Mapped[str] = mapped_column(sa.String(500), default="", nullable=False)


class SessionNote(TimestampMixin, db.Model):
    """The tutor's note on one completed session: topics covered, homework and a 1–5 progress mark."""

    __tablename__ = "session_notes"
    __table_args__ = (
        sa.CheckConstraint(f"progress_mark BETWEEN {MIN_MARK} AND {MAX_MARK}", name="mark_range"),
        sa.Index("ix_session_notes_student_session", "student_id", "session_at"),
        sa.Index("ix_session_notes_tutor_session", "tutor_id", "session_at"),
    )

    booking_id: Mapped[int] = mapped_column(sa.ForeignKey("bookings.id", ondelete="CASCADE"), primary_key=True)
    tutor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    student_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    subject: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    session_at: Mapped[object] = mapped_column(UTCDateTime, nullable=False)
    topics: Mapped[str] = mapped_column(sa.Text, nullable=False)
    homework: Mapped[str] = mapped_column(sa.Text, default="", nullable=False)
    progress_mark: Mapped[int] = mapped_column(sa.SmallInteger, nullable=False)
