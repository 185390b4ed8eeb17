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


class MatchRequestLog(db.Model):
    """One POST /matches response: who asked, what (compact request features), which arm and model scored it."""

    __tablename__ = "match_requests"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    student_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, nullable=False, index=True)
    arm: Mapped[str] = mapped_column(sa.String(8), nullable=False)
    model_version: Mapped[int | None] = mapped_column(sa.Integer)
    explore: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    features: Mapped[dict] = mapped_column(sa.JSON, nullable=False)

    __table_args__ = (sa.Index("ix_match_requests_student_created", "student_id", "created_at"),)


class MatchImpression(db.Model):
    """A tutor shown in a match response: rank (1-based), score and the seven parts (a list in PARTS order)."""

    __tablename__ = "match_impressions"

    request_id: Mapped[str] = mapped_column(sa.ForeignKey("match_requests.id", ondelete="CASCADE"), primary_key=True)
    tutor_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, index=True)
    rank: Mapped[int] = mapped_column(sa.SmallInteger, nullable=False)
    score: Mapped[float] = mapped_column(sa.Float, nullable=False)
    parts: Mapped[list] = mapped_column(sa.JSON, nullable=False)


class MatchOutcome(db.Model):
    """Something that followed an impression: viewed, clicked, messaged, booked, completed, repeat, rated."""

    __tablename__ = "match_outcomes"

    request_id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    tutor_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(12), primary_key=True)
    at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    value: Mapped[float | None] = mapped_column(sa.Float)
    booking_id: Mapped[int | None] = mapped_column(sa.Integer, index=True)

    __table_args__ = (sa.ForeignKeyConstraint(["request_id", "tutor_id"],
                                              ["match_impressions.request_id", "match_impressions.tutor_id"],
                                              ondelete="CASCADE"),)


class MatchModel(db.Model):
    """A trained ranking model: version, the features it reads, its weights and its offline metrics."""

    __tablename__ = "match_models"

    version: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    kind: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    features: Mapped[list] = mapped_column(sa.JSON, nullable=False)
    weights: Mapped[dict] = mapped_column(sa.JSON, nullable=False)
    metrics: Mapped[dict] = mapped_column(sa.JSON, nullable=False)
    trained_on: Mapped[int] = mapped_column(sa.Integer, nullable=False)


class MatchSetting(db.Model):
    """The admin's switch: the share of students served by the learned arm (one row, id 1)."""

    __tablename__ = "match_settings"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    learned_share: Mapped[float] = mapped_column(sa.Float, nullable=False)
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)
