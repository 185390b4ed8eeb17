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
