"""Jobs and history over bookings: expiring unanswered requests, completed-session counts for matching."""
import sqlalchemy as sa

from app.common import time as clock
from app.common.events import publish
from app.extensions import db
from app.payments import services as payments
from app.scheduling import lifecycle, reminders
from app.scheduling.models import Booking
from app.scheduling.policies import next_state


def expire_stale_requests(now=None, batch=500):
    """Requests nobody answered before their start become ``expired`` (their slot frees up); the caller's unit
    of work commits. Rows another worker holds are skipped (PostgreSQL), so concurrent runs never collide. Each
    expired request's escrow is refunded in full in the same transaction."""
    now = now or clock.utcnow()
    stmt = (
        sa.select(Booking).where(Booking.state == "requested", Booking.start_at <= now)
        .order_by(Booking.id).limit(batch)
    )
    if db.engine.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=Booking)
    expired = db.session.scalars(stmt).all()
    for booking in expired:
        previous = booking.state
        booking.state = next_state(booking.state, "expire")
        booking.proposed_start_at = booking.proposed_by_id = None
        reminders.notify(booking, "expired", ics=False, sms=False)
        payments.settle_booking(booking.id, booking.state, now=now)
        lifecycle.state_entered(booking, previous, None)
    for tutor_id in {booking.tutor_id for booking in expired}:
        publish("availability.changed", tutor_id=tutor_id)
    return len(expired)


def completed_session_counts(student_id, tutor_ids):
    """{tutor_id: completed sessions with this student} for the given tutors (0 when none)."""
    tutor_ids = list(tutor_ids)
    counts = dict.fromkeys(tutor_ids, 0)
    if not tutor_ids:
        return counts
    rows = db.session.execute(
        sa.select(Booking.tutor_id, sa.func.count())
        .where(Booking.student_id == student_id, Booking.state == "completed", Booking.tutor_id.in_(tutor_ids))
        .group_by(Booking.tutor_id)
    )
    counts.update({tutor_id: count for tutor_id, count in rows})
    return counts


def bookings_not_over(booking_ids, now):
    """The ids among ``booking_ids`` of bookings that end after ``now`` (upcoming or in progress), as a set."""
    booking_ids = list(booking_ids)
    if not booking_ids:
        return set()
    return set(db.session.scalars(sa.select(Booking.id).where(Booking.id.in_(booking_ids), Booking.end_at > now)))


def tutors_with_completed_sessions(student_id, limit):
    """{tutor_id: completed sessions} of the tutors this student completed sessions with, most sessions first (ties:
    lower id), at most limit."""
    sessions = sa.func.count()
    return dict(db.session.execute(
        sa.select(Booking.tutor_id, sessions)
        .where(Booking.student_id == student_id, Booking.state == "completed")
        .group_by(Booking.tutor_id).order_by(sessions.desc(), Booking.tutor_id).limit(limit)
    ).all())
