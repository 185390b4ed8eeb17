import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.common.time import UTCDateTime, utcnow
from app.extensions import db


class RecoveryCode(db.Model):
    """One-time MFA recovery code, stored as a keyed digest."""

    __tablename__ = "mfa_recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False)
    code_digest: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    used_at: Mapped[object | None] = mapped_column(UTCDateTime)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class PasswordResetOTP(db.Model):
    """A 6-digit reset code: expires, and dies after too many wrong guesses."""

    __tablename__ = "password_reset_otps"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False)
    otp_digest: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    expires_at: Mapped[object] = mapped_column(UTCDateTime, nullable=False)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0, nullable=False)
    used_at: Mapped[object | None] = mapped_column(UTCDateTime)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
