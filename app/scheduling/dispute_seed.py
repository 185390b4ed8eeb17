"""The demo session behind the demo dispute (`flask seed-demo`): James taught Sam an hour five hours ago; its price
is held and waits for the dispute window (``app.payments.dispute_seed`` then disputes it). Created once."""
from datetime import timedelta

import sqlalchemy as sa

from app.common.time import utcnow
from app.extensions import db
from app.payments import services as payments
from app.scheduling.models import Booking

DISPUTED_SESSION_NOTE = "Demo session (dispute seed)"
DISPUTED_SESSION = ("james.okafor@tutorhub.test", "sam.student@tutorhub.test", "python")


def seed_disputed_session(users_by_email):
    """The completed, paid, not yet released session's id (None without the demo accounts)."""
    tutor_email, student_email, subject = DISPUTED_SESSION
    tutor, student = users_by_email.get(tutor_email), users_by_email.get(student_email)
    if tutor is None or student is None:
        return None
    booking_id = db.session.scalar(sa.select(Booking.id).where(
        Booking.note == DISPUTED_SESSION_NOTE, Booking.tutor_id == tutor.id, Booking.student_id == student.id))
    if booking_id is not None:
        return booking_id
    start_at = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=6)
    end_at = start_at + timedelta(hours=1)
    price, currency = payments.quote_booking(tutor.id, 60)
    booking = Booking(tutor_id=tutor.id, student_id=student.id, subject=subject, note=DISPUTED_SESSION_NOTE,
                      state="completed", start_at=start_at, end_at=end_at, duration_minutes=60,
                      tutor_range_start=start_at, tutor_range_end=end_at, sequence=0, price_minor=price,
                      currency=currency, confirmed_at=start_at - timedelta(days=1), started_at=start_at,
                      completed_at=end_at)
    db.session.add(booking)
    db.session.flush()
    if payments.hold_for_booking(booking.id, student.id, tutor.id, price, currency) is not None:
        payments.settle_booking(booking.id, "completed", now=end_at)
    return booking.id
