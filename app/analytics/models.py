"""Analytics' own tables: the activity log, the daily aggregates and the days they cover."""
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.common.time import UTCDateTime, utcnow
from app.extensions import db

ACTIVITY_KINDS = ("login", "api", "chat", "booking")


class ActivityDay(db.Model):
    """One row per user, UTC day and kind of activity, upserted (``count`` how many times that day)."""

    __tablename__ = "analytics_activity"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('login', 'api', 'chat', 'booking')", name="kind_known"),
        sa.Index("ix_analytics_activity_day", "day"),
    )

    user_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    day: Mapped[object] = mapped_column(sa.Date, primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    count: Mapped[int] = mapped_column(sa.Integer, default=1, nullable=False)


class DailyMetric(db.Model):
    """A figure of one UTC day, per subject ('' for all) and currency ('' when not money): the rollup."""

    __tablename__ = "analytics_daily"

    day: Mapped[object] = mapped_column(sa.Date, primary_key=True)
    metric: Mapped[str] = mapped_column(sa.String(48), primary_key=True)
    subject: Mapped[str] = mapped_column(sa.String(64), primary_key=True, default="")
    currency: Mapped[str] = mapped_column(sa.String(3), primary_key=True, default="")
    value: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)


class RollupDay(db.Model):
    """A UTC day whose aggregates are in ``analytics_daily`` (reports compute days without one live)."""

    __tablename__ = "analytics_rollup_days"

    day: Mapped[object] = mapped_column(sa.Date, primary_key=True)
    rolled_up_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
