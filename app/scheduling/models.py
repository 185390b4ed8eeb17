"""Scheduling tables: weekly rules, date overrides, per-tutor settings, busy blocks and bookings.

No double booking is enforced by PostgreSQL itself: migration 0003 adds two exclusion constraints
(btree_gist) over the *active* bookings (requested, confirmed, in_progress):

* ``ex_bookings_tutor_no_overlap``: (tutor_id WITH =, tstzrange(tutor_range_start, tutor_range_end) WITH &&),
  where the tutor range is the session widened by the tutor's buffers before/after;
* ``ex_bookings_student_no_overlap``: (student_id WITH =, tstzrange(start_at, end_at) WITH &&).

The buffered bounds are stored columns so the constraint stays a plain expression. SQLite has no
exclusion constraints: there the application-level overlap check in ``validation.assert_no_overlap`` is the
guard, run after ``validation.lock_participants`` has taken SQLite's write lock (BEGIN IMMEDIATE), so no other
writer runs its check between this one's check and write. On PostgreSQL the same lock is an advisory lock per
person: it makes the limits and the cross-role overlap (no constraint covers those) hold under concurrency.
"""
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.common.models import JSONType, TimestampMixin
from app.common.time import UTCDateTime, utcnow
from app.extensions import db

ACTIVE_STATES = ("requested", "confirmed", "in_progress")
FINAL_STATES = ("completed", "no_show", "cancelled", "rejected", "expired")
STATES = ACTIVE_STATES + FINAL_STATES
BUSY_SOURCES = ("manual", "out_of_office", "google", "outlook", "ics")
# Blocks the tutor made by hand (GET/POST/DELETE /tutors/me/busy, /tutors/me/out-of-office); the others are synced.
OWN_BUSY_SOURCES = ("manual", "out_of_office")


def _in(values):
    return ", ".join(f"'{value}'" for value in values)


class SchedulingSettings(TimestampMixin, db.Model):
    """One row per tutor; absent means the defaults below."""

    __tablename__ = "scheduling_settings"
    __table_args__ = (
        sa.CheckConstraint("buffer_before_minutes >= 0 AND buffer_after_minutes >= 0", name="buffers_positive"),
        sa.CheckConstraint("slot_interval_minutes > 0", name="interval_positive"),
    )

    tutor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    # None: the tutor's users.timezone.
    timezone: Mapped[str | None] = mapped_column(sa.String(64))
    session_lengths: Mapped[list] = mapped_column(JSONType, default=lambda: [30, 60], nullable=False)
    slot_interval_minutes: Mapped[int] = mapped_column(sa.Integer, default=30, nullable=False)
    buffer_before_minutes: Mapped[int] = mapped_column(sa.Integer, default=0, nullable=False)
    buffer_after_minutes: Mapped[int] = mapped_column(sa.Integer, default=0, nullable=False)
    min_notice_minutes: Mapped[int] = mapped_column(sa.Integer, default=720, nullable=False)
    max_days_ahead: Mapped[int] = mapped_column(sa.Integer, default=60, nullable=False)
    daily_limit: Mapped[int | None] = mapped_column(sa.Integer)
    weekly_limit: Mapped[int | None] = mapped_column(sa.Integer)
    instant_booking: Mapped[bool] = mapped_column(sa.Boolean, default=False, nullable=False)
    # Cancelling less than this many hours before the start is "late" (the payments issue refunds by it).
    cancellation_window_hours: Mapped[int] = mapped_column(sa.Integer, default=24, nullable=False)
    late_cancellation_refund_percent: Mapped[int] = mapped_column(sa.Integer, default=50, nullable=False)


class AvailabilityRule(db.Model):
    """Weekly hours in the tutor's zone: weekday 0 = Monday; minutes after local midnight (end up to 1440)."""

    __tablename__ = "availability_rules"
    __table_args__ = (
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        sa.CheckConstraint("start_minute >= 0 AND end_minute <= 1440 AND start_minute < end_minute",
                           name="minutes_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tutor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False)
    weekday: Mapped[int] = mapped_column(sa.SmallInteger, nullable=False)
    start_minute: Mapped[int] = mapped_column(sa.SmallInteger, nullable=False)
    end_minute: Mapped[int] = mapped_column(sa.SmallInteger, nullable=False)


class AvailabilityOverride(db.Model):
    """Hours for one local date replacing the weekly rules; a row without minutes is a day off."""

    __tablename__ = "availability_overrides"
    __table_args__ = (
        sa.CheckConstraint(
            "(start_minute IS NULL AND end_minute IS NULL) OR "
            "(start_minute >= 0 AND end_minute <= 1440 AND start_minute < end_minute)",
            name="minutes_range",
        ),
        sa.Index("ix_availability_overrides_tutor_date", "tutor_id", "date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tutor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    date: Mapped[object] = mapped_column(sa.Date, nullable=False)
    start_minute: Mapped[int | None] = mapped_column(sa.SmallInteger)
    end_minute: Mapped[int | None] = mapped_column(sa.SmallInteger)


class BusyBlock(db.Model):
    """Time a tutor is busy: their own one-off blocks and out-of-office periods, or calendar sync; slots avoid it.
    An out-of-office period may carry a note and a colleague to suggest to its students."""

    __tablename__ = "busy_blocks"
    __table_args__ = (
        sa.CheckConstraint("start_at < end_at", name="range_ordered"),
        sa.Index("ix_busy_blocks_user_range", "user_id", "start_at", "end_at"),
        sa.Index("ix_busy_blocks_user_source_external", "user_id", "source", "external_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    start_at: Mapped[object] = mapped_column(UTCDateTime, nullable=False)
    end_at: Mapped[object] = mapped_column(UTCDateTime, nullable=False)
    source: Mapped[str] = mapped_column(sa.String(20), default="manual", nullable=False)
    external_id: Mapped[str | None] = mapped_column(sa.String(255))
    note: Mapped[str | None] = mapped_column(sa.String(500))
    colleague_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class Booking(TimestampMixin, db.Model):
    __tablename__ = "bookings"
    __table_args__ = (
        sa.CheckConstraint(f"state IN ({_in(STATES)})", name="state_known"),
        sa.CheckConstraint("start_at < end_at", name="range_ordered"),
        sa.CheckConstraint("tutor_range_start <= start_at AND tutor_range_end >= end_at", name="buffers_cover"),
        sa.CheckConstraint("tutor_id <> student_id", name="not_self"),
        sa.Index("ix_bookings_tutor_start", "tutor_id", "start_at"),
        sa.Index("ix_bookings_student_start", "student_id", "start_at"),
        sa.Index("ix_bookings_state_start", "state", "start_at"),
        # The lifecycle timestamps: analytics reads the bookings touched in a window of days through them.
        *(sa.Index(f"ix_bookings_{column}", column)
          for column in ("created_at", "confirmed_at", "completed_at", "cancelled_at", "updated_at")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tutor_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    student_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    subject: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    note: Mapped[str] = mapped_column(sa.Text, default="", nullable=False)
    state: Mapped[str] = mapped_column(sa.String(20), default="requested", nullable=False)
    start_at: Mapped[object] = mapped_column(UTCDateTime, nullable=False)
    end_at: Mapped[object] = mapped_column(UTCDateTime, nullable=False)
    duration_minutes: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    # The session widened by the tutor's buffers: what the tutor exclusion constraint compares.
    tutor_range_start: Mapped[object] = mapped_column(UTCDateTime, nullable=False)
    tutor_range_end: Mapped[object] = mapped_column(UTCDateTime, nullable=False)
    # ICS SEQUENCE: bumped on every change a calendar must pick up (reschedule, cancel).
    sequence: Mapped[int] = mapped_column(sa.Integer, default=0, nullable=False)
    # A repeat session: the student already had a confirmed/completed session with this tutor before it.
    is_repeat: Mapped[bool] = mapped_column(sa.Boolean, default=False, nullable=False)
    confirmed_at: Mapped[object | None] = mapped_column(UTCDateTime)
    started_at: Mapped[object | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[object | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[object | None] = mapped_column(UTCDateTime)
    cancelled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    cancel_reason: Mapped[str | None] = mapped_column(sa.String(500))
    # {"window_hours", "hours_before_start", "late", "refund_percent", "cancelled_by"}: read by payments.
    cancellation_policy: Mapped[dict | None] = mapped_column(JSONType)
    # A pending reschedule proposal, accepted or declined by the other participant.
    proposed_start_at: Mapped[object | None] = mapped_column(UTCDateTime)
    proposed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    # The price fixed when the booking was requested (tutor's hourly rate × duration; 0 for a free session),
    # held in escrow by payments; NULL for bookings made before payments existed.
    price_minor: Mapped[int | None] = mapped_column(sa.BigInteger)
    currency: Mapped[str | None] = mapped_column(sa.String(3))
    # Admin overrides leave a trail here.
    admin_note: Mapped[str | None] = mapped_column(sa.String(500))

    tutor = relationship("User", foreign_keys=[tutor_id], lazy="joined")
    student = relationship("User", foreign_keys=[student_id], lazy="joined")

    @property
    def is_active(self):
        return self.state in ACTIVE_STATES

    @property
    def proposed_end_at(self):
        if self.proposed_start_at is None:
            return None
        from datetime import timedelta

        return self.proposed_start_at + timedelta(minutes=self.duration_minutes)

    def participant_ids(self):
        return (self.tutor_id, self.student_id)
