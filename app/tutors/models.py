import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.common.models import JSONType, TimestampMixin
from app.common.time import UTCDateTime
from app.extensions import db
from app.users.models import User

LEVELS = ("primary", "secondary", "university", "professional")
MODES = ("online", "in_person", "both")
DOCUMENT_KINDS = ("id_card", "certificate", "diploma", "cv")
CREDENTIAL_KINDS = ("certificate", "diploma")
DOCUMENT_STATUSES = ("pending", "approved", "rejected")


def _in(values):
    return ", ".join(f"'{value}'" for value in values)


class Subject(db.Model):
    __tablename__ = "subjects"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(60), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    category: Mapped[str] = mapped_column(sa.String(60), nullable=False)

    def __repr__(self):
        return f"<Subject {self.slug}>"


class TutorProfile(TimestampMixin, db.Model):
    """One per tutor; the user id is the tutor id everywhere in the API."""

    __tablename__ = "tutor_profiles"
    __table_args__ = (
        sa.CheckConstraint(sa.text(f"mode IN ({_in(MODES)})"), name="mode_known"),
        sa.CheckConstraint(sa.text("rate_cents >= 0"), name="rate_not_negative"),
        sa.CheckConstraint(sa.text("latitude IS NULL OR (latitude BETWEEN -90 AND 90)"), name="latitude_range"),
        sa.CheckConstraint(sa.text("longitude IS NULL OR (longitude BETWEEN -180 AND 180)"), name="longitude_range"),
        sa.Index("ix_tutor_profiles_lat_lon", "latitude", "longitude"),
    )

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    headline: Mapped[str] = mapped_column(sa.String(160), default="", nullable=False)
    bio: Mapped[str] = mapped_column(sa.Text, default="", nullable=False)
    # Copy of users.full_name (kept in step by tutors' ``user.renamed`` subscriber), so the full-text index
    # covers one table.
    search_name: Mapped[str] = mapped_column(sa.String(120), default="", nullable=False)
    rate_cents: Mapped[int] = mapped_column(sa.Integer, default=0, nullable=False, index=True)
    currency: Mapped[str] = mapped_column(sa.String(3), default="USD", nullable=False)
    languages: Mapped[list] = mapped_column(JSONType, default=list, nullable=False)
    teaching_styles: Mapped[list] = mapped_column(JSONType, default=list, nullable=False)
    mode: Mapped[str] = mapped_column(sa.String(10), default="online", nullable=False, index=True)
    city: Mapped[str | None] = mapped_column(sa.String(100))
    country: Mapped[str | None] = mapped_column(sa.String(2))
    latitude: Mapped[float | None] = mapped_column(sa.Float)
    longitude: Mapped[float | None] = mapped_column(sa.Float)
    travel_radius_km: Mapped[int | None] = mapped_column(sa.Integer)
    years_experience: Mapped[int] = mapped_column(sa.Integer, default=0, nullable=False)
    offers_trial: Mapped[bool] = mapped_column(sa.Boolean, default=False, nullable=False)
    verified: Mapped[bool] = mapped_column(sa.Boolean, default=False, nullable=False, index=True)
    # Appears publicly: the account is active and holds the tutor role. Written by database triggers only
    # (migration 0007) on profile insert, users.is_active and user_roles changes, so filters need no join.
    listed: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false(), nullable=False)
    # Reviews' aggregates, written through services.set_rating_summary / set_bayesian_ratings; search filters
    # and sorts on them.
    rating_avg: Mapped[float | None] = mapped_column(sa.Float)
    rating_count: Mapped[int] = mapped_column(sa.Integer, default=0, nullable=False)
    rating_bayes: Mapped[float | None] = mapped_column(sa.Float, index=True)

    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)
    subjects: Mapped[list["TutorSubject"]] = relationship(
        back_populates="profile", cascade="all, delete-orphan", lazy="selectin",
        order_by="TutorSubject.subject_id, TutorSubject.level",
    )

    @property
    def id(self):
        return self.user_id

    @property
    def full_name(self):
        return self.user.full_name


class TutorSubject(db.Model):
    __tablename__ = "tutor_subjects"
    __table_args__ = (
        sa.CheckConstraint(sa.text(f"level IN ({_in(LEVELS)})"), name="level_known"),
        sa.Index("ix_tutor_subjects_subject_level", "subject_id", "level", "tutor_id"),
    )

    tutor_id: Mapped[int] = mapped_column(sa.ForeignKey("tutor_profiles.user_id", ondelete="CASCADE"), primary_key=True)
    subject_id: Mapped[int] = mapped_column(sa.ForeignKey("subjects.id", ondelete="CASCADE"), primary_key=True)
    level: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    # Copies of the profile columns matching filters and scores on, written by database triggers only (migration
    # 0012) on insert and whenever the profile changes, so a subject's eligible tutors are one index-only scan
    # (PostgreSQL: ix_tutor_subjects_match) instead of a profile probe per tutor. rating = coalesce(rating_bayes,
    # rating_avg). Read them with Core selects: an ORM object inserted in this session still holds None.
    listed: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false(), nullable=False)
    mode: Mapped[str | None] = mapped_column(sa.String(10))
    currency: Mapped[str | None] = mapped_column(sa.String(3))
    rate_cents: Mapped[int | None] = mapped_column(sa.Integer)
    latitude: Mapped[float | None] = mapped_column(sa.Float)
    longitude: Mapped[float | None] = mapped_column(sa.Float)
    travel_radius_km: Mapped[int | None] = mapped_column(sa.Integer)
    verified: Mapped[bool | None] = mapped_column(sa.Boolean)
    years_experience: Mapped[int | None] = mapped_column(sa.Integer)
    rating: Mapped[float | None] = mapped_column(sa.Float)
    teaching_styles: Mapped[list | None] = mapped_column(JSONType)

    profile: Mapped[TutorProfile] = relationship(back_populates="subjects")
    subject: Mapped[Subject] = relationship(lazy="joined", innerjoin=True)


class TutorDocument(TimestampMixin, db.Model):
    __tablename__ = "tutor_documents"
    __table_args__ = (
        sa.CheckConstraint(sa.text(f"kind IN ({_in(DOCUMENT_KINDS)})"), name="kind_known"),
        sa.CheckConstraint(sa.text(f"status IN ({_in(DOCUMENT_STATUSES)})"), name="status_known"),
        sa.Index("ix_tutor_documents_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tutor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    storage_key: Mapped[str] = mapped_column(sa.String(128), nullable=False)
    content_type: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    size_bytes: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    original_filename: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    status: Mapped[str] = mapped_column(sa.String(10), default="pending", nullable=False)
    reason: Mapped[str | None] = mapped_column(sa.String(500))
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[object | None] = mapped_column(UTCDateTime)

    tutor: Mapped[User] = relationship(foreign_keys=[tutor_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


# The full-text vector of a profile: on PostgreSQL the stored generated column tutor_profiles.search_vector
# (GIN index ix_tutor_profiles_search_vector) holds exactly this expression. Queries read the column
# (SEARCH_VECTOR): no to_tsvector per matching row.
SEARCH_VECTOR = "tutor_profiles.search_vector"
SEARCH_VECTOR_SQL = (
    "setweight(to_tsvector('english'::regconfig, coalesce(tutor_profiles.search_name, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, coalesce(tutor_profiles.headline, '')), 'B') || "
    "setweight(to_tsvector('english'::regconfig, coalesce(tutor_profiles.bio, '')), 'C')"
)
