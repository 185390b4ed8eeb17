"""The booking state machine (one transition table) and the cancellation-window policy."""
from datetime import timedelta

from app.common.errors import Conflict

# state -> {action: next state}. Anything not listed is illegal (409).
TRANSITIONS = {
    "requested": {"accept": "confirmed", "reject": "rejected", "cancel": "cancelled", "expire": "expired"},
    "confirmed": {"start": "in_progress", "complete": "completed", "no_show": "no_show", "cancel": "cancelled"},
    "in_progress": {"complete": "completed"},
    "completed": {},
    "no_show": {},
    "cancelled": {},
    "rejected": {},
    "expired": {},
}

# How early a tutor may mark a session as started.
START_EARLY = timedelta(minutes=15)


def next_state(state, action):
    """The state ``action`` leads to from ``state``, or 409."""
    target = TRANSITIONS.get(state, {}).get(action)
    if target is None:
        raise Conflict(f"Cannot {action.replace('_', ' ')} a booking that is {state.replace('_', ' ')}.")
    return target


def cancellation_terms(booking, settings, actor_id, now):
    """What the payments issue needs to settle a cancellation, recorded on the booking."""
    hours_before = (booking.start_at - now).total_seconds() / 3600
    window = settings.cancellation_window_hours
    by_tutor = actor_id == booking.tutor_id
    late = hours_before < window
    if booking.state == "requested" or by_tutor or not late:
        refund = 100  # nothing was confirmed, or the tutor cancelled, or it is early enough
    else:
        refund = settings.late_cancellation_refund_percent
    return {
        "window_hours": window,
        "hours_before_start": round(hours_before, 2),
        "late": late,
        "refund_percent": refund,
        "cancelled_by": "tutor" if by_tutor else ("student" if actor_id == booking.student_id else "admin"),
        "state_at_cancel": booking.state,
    }


def reschedule_is_immediate(booking, settings, actor_id, now):
    """A student moves a confirmed session without asking when the tutor takes instant bookings and the
    session is still outside the cancellation window; everything else is a proposal for the other side."""
    if actor_id != booking.student_id or not settings.instant_booking:
        return False
    return booking.start_at - now >= timedelta(hours=settings.cancellation_window_hours)
