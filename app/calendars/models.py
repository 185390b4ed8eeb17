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


PROVIDER_NAMES = ("google", "outlook")
CONNECTION_STATUSES = ("active", "broken")


class CalendarConnection(db.Model):
    """A user's connected calendar: encrypted OAuth tokens, the incremental cursor, the push channel, backoff.

    ``status`` 'broken' (with ``broken_reason``) when the grant is gone; reconnecting makes it active again. The
    push channel's token is kept as a keyed digest (notifications are checked against it); ``backoff_until`` is
    set after a rate limit, and nothing calls the provider for this connection before it."""

    __tablename__ = "calendar_connections"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "provider", name="uq_calendar_connections_user_provider"),
        sa.CheckConstraint(f"provider IN ({', '.join(repr(p) for p in PROVIDER_NAMES)})", name="provider_known"),
        sa.CheckConstraint(f"status IN ({', '.join(repr(s) for s in CONNECTION_STATUSES)})", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    provider: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    account_email: Mapped[str | None] = mapped_column(sa.String(255))
    tokens_encrypted: Mapped[str] = mapped_column(sa.Text, nullable=False)
    status: Mapped[str] = mapped_column(sa.String(10), default="active", nullable=False)
    broken_reason: Mapped[str | None] = mapped_column(sa.String(500))
    broken_notified_at: Mapped[object | None] = mapped_column(UTCDateTime)
    sync_cursor: Mapped[str | None] = mapped_column(sa.Text)
    last_synced_at: Mapped[object | None] = mapped_column(UTCDateTime)
    channel_id: Mapped[str | None] = mapped_column(sa.String(255), unique=True)
    channel_resource_id: Mapped[str | None] = mapped_column(sa.String(255))
    channel_token_digest: Mapped[str | None] = mapped_column(sa.String(64))
    channel_expires_at: Mapped[object | None] = mapped_column(UTCDateTime)
    next_renewal_at: Mapped[object | None] = mapped_column(UTCDateTime)
    backoff_until: Mapped[object | None] = mapped_column(UTCDateTime)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)


class CalendarOAuthState(db.Model):
    """One pending authorization: the state (keyed digest) bound to its user, the PKCE verifier (encrypted) and
    the redirect URI; used once (deleted by the callback) and only until ``expires_at``."""

    __tablename__ = "calendar_oauth_states"

    id: Mapped[int] = mapped_column(primary_key=True)
    state_digest: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    provider: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    code_verifier_encrypted: Mapped[str] = mapped_column(sa.Text, nullable=False)
    redirect_uri: Mapped[str] = mapped_column(sa.String(1000), nullable=False)
    expires_at: Mapped[object] = mapped_column(UTCDateTime, nullable=False)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class CalendarPushedEvent(db.Model):
    """A booking Tutorhub put in a connected calendar: the provider's event id, per connection."""

    __tablename__ = "calendar_pushed_events"
    __table_args__ = (
        sa.UniqueConstraint("connection_id", "booking_id", name="uq_calendar_pushed_events_connection_booking"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(sa.ForeignKey("calendar_connections.id", ondelete="CASCADE"),
                                               nullable=False)
    booking_id: Mapped[int] = mapped_column(sa.ForeignKey("bookings.id", ondelete="CASCADE"), nullable=False,
                                            index=True)
    external_id: Mapped[str] = mapped_column(sa.String(1024), nullable=False)
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)
