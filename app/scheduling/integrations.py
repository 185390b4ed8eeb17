"""What scheduling lends to other domains: session history and availability for matching and search."""
import sqlalchemy as sa

from app.common.errors import DomainError
from app.scheduling.history import (
    completed_session_counts,
    tutors_with_completed_sessions,
)
from app.scheduling.models import ACTIVE_STATES, AvailabilityRule, Booking, BusyBlock
from app.scheduling.services import get_slots


def availability_fractions(tutor_ids, windows):
    """{tutor_id: share of the student's preferred windows in which the tutor has at least one free slot}."""
    fractions = {}
    for tutor_id in tutor_ids:
        free = 0
        for start, end in windows:
            try:
                free += bool(get_slots(tutor_id, start, end)["slots"])
            except DomainError:  # a window the tutor cannot be booked in (past, too far ahead …) is not free
                pass
        fractions[tutor_id] = free / len(windows)
    return fractions


def narrow_to_available(stmt, start, end):
    """Search filter: tutors with weekly hours who have no active booking or busy block inside [start, end).

    A SQL prefilter, so it scales to every tutor; the slots endpoint gives the exact free times.
    """
    from app.tutors.models import TutorProfile

    tutor = TutorProfile.user_id
    has_hours = sa.select(1).where(AvailabilityRule.tutor_id == tutor).exists()
    booked = (
        sa.select(1)
        .where(Booking.tutor_id == tutor, Booking.state.in_(ACTIVE_STATES))
        .where(Booking.start_at < end, Booking.end_at > start)
        .exists()
    )
    busy = sa.select(1).where(BusyBlock.user_id == tutor, BusyBlock.start_at < end, BusyBlock.end_at > start).exists()
    return stmt.where(has_hours, ~booked, ~busy)


def register():
    """Plug scheduling into matching and search (idempotent: create_app may run several times)."""
    from app.matching import hooks
    from app.tutors import search

    for registry, func in (
        (hooks.HISTORY_PROVIDERS, completed_session_counts),
        (hooks.HISTORY_TUTOR_PROVIDERS, tutors_with_completed_sessions),
        (hooks.AVAILABILITY_PROVIDERS, availability_fractions),
        (search.AVAILABILITY_FILTERS, narrow_to_available),
    ):
        if func not in registry:
            registry.append(func)
