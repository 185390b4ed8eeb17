"""Column types and mixins shared by the domain models."""
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.common.time import UTCDateTime, utcnow

# JSONB on PostgreSQL (indexable, compact), plain JSON elsewhere.
JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


class TimestampMixin:
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)


# PostgreSQL-only indexes that migrations create with raw SQL (GIN over expressions, DESC NULLS LAST, INCLUDE):
# the models cannot declare them portably, so schema comparisons (autogenerate, the drift test) skip them.
POSTGRES_ONLY_INDEXES = {
    "ix_tutor_profiles_search_vector",
    "ix_tutor_profiles_languages",
    "ix_tutor_profiles_teaching_styles",
    "ix_tutor_profiles_rank",
    "ix_tutor_profiles_near",
    "ix_tutor_profiles_listed_rating",
    "ix_tutor_subjects_match",
}


# PostgreSQL-only columns (migration 0012: tutor_profiles.search_vector, a stored generated tsvector).
POSTGRES_ONLY_COLUMNS = {"search_vector"}


def include_in_schema_comparison(obj, name, type_, reflected, compare_to):
    """alembic include_object hook: ignore the hand-made PostgreSQL-only indexes and columns."""
    if type_ == "column" and reflected and compare_to is None and name in POSTGRES_ONLY_COLUMNS:
        return False
    return not (type_ == "index" and reflected and name in POSTGRES_ONLY_INDEXES)
