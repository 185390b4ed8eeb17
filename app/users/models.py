import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.common.models import JSONType, TimestampMixin
from app.common.time import UTCDateTime, utcnow
from app.extensions import db

ROLES = ("student", "tutor", "instructor", "admin")
SIGNUP_ROLES = ("student", "tutor", "instructor")
LEARNING_STYLES = ("visual", "auditory", "reading", "kinesthetic")


class User(TimestampMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased, so the unique index makes emails unique case-insensitively.
    email: Mapped[str] = mapped_column(sa.String(254), unique=True, nullable=False)
    password_hash: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    full_name: Mapped[str] = mapped_column(sa.String(120), nullable=False)
    bio: Mapped[str] = mapped_column(sa.Text, default="", nullable=False)
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC", nullable=False)
    locale: Mapped[str] = mapped_column(sa.String(16), default="en", nullable=False)
    learning_styles: Mapped[list] = mapped_column(JSONType, default=list, nullable=False)
    preferences: Mapped[dict] = mapped_column(JSONType, default=dict, nullable=False)
    social_links: Mapped[dict] = mapped_column(JSONType, default=dict, nullable=False)
    phone_number: Mapped[str | None] = mapped_column(sa.String(20))
    avatar_key: Mapped[str | None] = mapped_column(sa.String(128))
    avatar_content_type: Mapped[str | None] = mapped_column(sa.String(64))
    is_active: Mapped[bool] = mapped_column(sa.Boolean, default=True, nullable=False)
    email_confirmed_at: Mapped[object | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[object | None] = mapped_column(UTCDateTime)
    # Tokens carry this number; bumping it (password reset, deactivation) kills every live session.
    token_version: Mapped[int] = mapped_column(sa.Integer, default=1, nullable=False)

    mfa_secret: Mapped[str | None] = mapped_column(sa.String(64))
    mfa_enabled: Mapped[bool] = mapped_column(sa.Boolean, default=False, nullable=False)
    # Highest TOTP time step accepted so far: a code is never accepted twice.
    mfa_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)

    role_rows: Mapped[list["UserRole"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def roles(self):
        preloaded = getattr(self, "_preloaded_roles", None)
        if preloaded is not None:
            return list(preloaded)
        return sorted(row.role for row in self.role_rows)

    def preload_roles(self, names):
        """Role names read with the user row (the auth loader), so ``roles`` needs no second query."""
        self._preloaded_roles = tuple(sorted(names))

    @roles.setter
    def roles(self, values):
        self._preloaded_roles = None
        wanted = set(values)
        self.role_rows = [row for row in self.role_rows if row.role in wanted]
        present = {row.role for row in self.role_rows}
        self.role_rows.extend(UserRole(role=role) for role in sorted(wanted - present))

    def has_role(self, role):
        return role in self.roles

    def has_any_role(self, roles):
        return bool(set(roles) & set(self.roles))

    @property
    def is_admin(self):
        return self.has_role("admin")

    @property
    def email_confirmed(self):
        return self.email_confirmed_at is not None

    def __repr__(self):
        return f"<User {self.id} {self.email}>"


class UserRole(db.Model):
    __tablename__ = "user_roles"
    __table_args__ = (sa.CheckConstraint(sa.text("role IN ('student', 'tutor', 'instructor', 'admin')"), name="role_known"),)

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(sa.String(20), primary_key=True, index=True)

    user: Mapped[User] = relationship(back_populates="role_rows")


USER_ADMIN_ACTIONS = ("roles", "deactivate", "reactivate")


class UserAdminEvent(db.Model):
    """Audit trail: every admin change of a user's roles or active flag (API and portal alike)."""

    __tablename__ = "user_admin_events"
    __table_args__ = (
        sa.CheckConstraint(sa.text("action IN ('roles', 'deactivate', 'reactivate')"), name="action_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False)
    admin_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(sa.String(12), nullable=False)
    # roles: {"before": [...], "after": [...]}; deactivate / reactivate: {}
    detail: Mapped[dict] = mapped_column(JSONType, default=dict, nullable=False)
    at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
