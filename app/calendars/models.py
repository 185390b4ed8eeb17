import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.common.time import UTCDateTime, utcnow
from app.extensions import db


class CalendarFeedToken(db.Model):
    """A secret ICS feed URL per user; only the keyed digest is stored, revoking deletes the row."""

    __tablename__ = "calendar_feed_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), unique=True, nullable=False)
    token_digest: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    last_used_at: Mapped[object | None] = mapped_column(UTCDateTime)
