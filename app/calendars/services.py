"""ICS feed tokens and the per-user feed of confirmed sessions."""
from datetime import timedelta

import sqlalchemy as sa

from app.calendars.ics import booking_event, calendar
from app.calendars.models import CalendarFeedToken
from app.common import time as clock
from app.common.errors import NotFound
from app.common.security import keyed_digest, random_token
from app.extensions import db
from app.scheduling.models import Booking
from app.users.models import User

FEED_STATES = ("confirmed", "in_progress", "completed", "no_show", "cancelled")
FEED_HISTORY = timedelta(days=90)


def issue_feed_token(user):
    """A new secret feed token; any previous one stops working. Returns the raw token (shown once)."""
    token = random_token(24)
    db.session.execute(sa.delete(CalendarFeedToken).where(CalendarFeedToken.user_id == user.id))
    row = CalendarFeedToken(user_id=user.id, token_digest=keyed_digest(token))
    db.session.add(row)
    db.session.commit()
    return token, row


def revoke_feed_token(user):
    deleted = db.session.execute(sa.delete(CalendarFeedToken).where(CalendarFeedToken.user_id == user.id)).rowcount
    db.session.commit()
    if not deleted:
        raise NotFound("No calendar feed token to revoke.")


def feed_for_token(token, now=None):
    """The RFC 5545 calendar of the token owner's sessions (cancelled ones as STATUS:CANCELLED)."""
    now = now or clock.utcnow()
    row = db.session.scalar(sa.select(CalendarFeedToken).where(CalendarFeedToken.token_digest == keyed_digest(token)))
    user = db.session.get(User, row.user_id) if row else None
    if user is None or not user.is_active:
        raise NotFound("No such calendar feed.")
    row.last_used_at = now
    db.session.commit()
    bookings = db.session.scalars(
        sa.select(Booking)
        .where(sa.or_(Booking.tutor_id == user.id, Booking.student_id == user.id))
        .where(Booking.confirmed_at.is_not(None), Booking.state.in_(FEED_STATES))
        .where(Booking.end_at >= now - FEED_HISTORY)
        .order_by(Booking.start_at)
    ).all()
    return calendar([booking_event(booking, user.id) for booking in bookings], method="PUBLISH",
                    name=f"Tutorhub sessions: {user.full_name}")
