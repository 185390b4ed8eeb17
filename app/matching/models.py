import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.common.time import UTCDateTime, utcnow
from app.extensions import db


class StudentBlock(db.Model):
    """A student never sees a tutor they blocked in their matches."""

    __tablename__ = "student_blocks"

    student_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    tutor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class MatchingWeight(db.Model):
    """One row per score part; learned matching replaces these rows, not code."""

    __tablename__ = "matching_weights"
    __table_args__ = (sa.CheckConstraint(sa.text("weight >= 0"), name="weight_not_negative"),)

    name: Mapped[str] = mapped_column(sa.String(30), primary_key=True)
    weight: Mapped[float] = mapped_column(sa.Float, nullable=False)
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)
