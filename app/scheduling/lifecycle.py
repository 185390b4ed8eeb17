"""The booking events scheduling publishes (``app.common.events``), one payload shape for all of them.

Every state a booking enters publishes its event, whoever made the change (participant, admin, expiry job):
``booking.requested``, ``booking.confirmed``, ``booking.started``, ``booking.completed``, ``booking.no_show``,
``booking.cancelled``, ``booking.rejected``, ``booking.expired``; a new time publishes ``booking.rescheduled``.
Subscribers (messaging's system lines in the pair's conversation, payments' escrow and refunds) get plain values, after commit.
"""
from app.common.events import publish
from app.scheduling.ics import subject_name

# The event of each state a booking can enter.
STATE_EVENTS = {
    "requested": "booking.requested",
    "confirmed": "booking.confirmed",
    "in_progress": "booking.started",
    "completed": "booking.completed",
    "no_show": "booking.no_show",
    "cancelled": "booking.cancelled",
    "rejected": "booking.rejected",
    "expired": "booking.expired",
}


def payload(booking, previous_state, actor_id, by_admin=False, **extra):
    """What every booking event carries: ``booking_id``, ``student_id``, ``tutor_id``, ``start_at``/``end_at``
    (ISO 8601, UTC), ``duration_minutes``, ``subject`` (slug), ``subject_name`` (for people), ``state`` (after the change), ``previous_state``
    (None for a new booking), ``actor_id`` (None for the expiry job), ``by_admin``, plus the event's extras."""
    return {
        "booking_id": booking.id, "student_id": booking.student_id, "tutor_id": booking.tutor_id,
        "start_at": booking.start_at.isoformat(), "end_at": booking.end_at.isoformat(),
        "duration_minutes": booking.duration_minutes, "subject": booking.subject,
        "subject_name": subject_name(booking.subject), "state": booking.state,
        "previous_state": previous_state, "actor_id": actor_id, "by_admin": by_admin, **extra,
    }


def state_entered(booking, previous_state, actor_id, by_admin=False):
    """Publish the event of the state ``booking`` is now in. ``booking.cancelled`` adds the recorded terms:
    ``cancelled_by`` (student, tutor or admin), ``refund_percent`` (0-100) and ``late`` (inside the window)."""
    extra = {}
    if booking.state == "cancelled":
        terms = booking.cancellation_policy
        extra = {"cancelled_by": terms["cancelled_by"], "refund_percent": terms["refund_percent"],
                 "late": terms["late"]}
    publish(STATE_EVENTS[booking.state], **payload(booking, previous_state, actor_id, by_admin, **extra))


def rescheduled(booking, old_start, old_end, actor_id, by_admin=False):
    """Publish ``booking.rescheduled``: the payload's times are the new ones, ``old_start_at``/``old_end_at``
    the previous ones."""
    publish("booking.rescheduled", **payload(booking, booking.state, actor_id, by_admin,
                                             old_start_at=old_start.isoformat(), old_end_at=old_end.isoformat()))
