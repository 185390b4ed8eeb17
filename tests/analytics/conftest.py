"""A known fortnight of platform activity (March 2026, UTC), with the clock frozen at 2026-03-10 12:00."""
from datetime import date, timedelta

import pytest

from tests.factories import BookingFactory, ConversationFactory, MessageFactory, ReviewFactory, UserFactory
from tests.scheduling.conftest import utc

NOW = utc(2026, 3, 10, 12)
TODAY = date(2026, 3, 10)


@pytest.fixture
def clock(monkeypatch):
    import app.common.time as time_module

    monkeypatch.setattr(time_module, "utcnow", lambda: NOW)
    return NOW


def _booking(tutor, student, subject, state, created, **times):
    return BookingFactory(tutor=tutor, student=student, subject=subject, state=state, created_at=created,
                          updated_at=times.pop("updated", created), start_at=times.pop("start", created
                                                                                       + timedelta(days=1)),
                          confirmed_at=times.pop("confirmed", None), **times)


@pytest.fixture
def platform(app, clock):
    """Users, bookings, reviews, messages and activity of 2026-03-01 … 2026-03-10 (today, until noon)."""
    from app.analytics import services
    from app.common.transactions import unit_of_work

    admin = UserFactory(roles=["admin"], created_at=utc(2026, 1, 1))
    tutor = UserFactory(roles=["tutor"], created_at=utc(2026, 2, 20))
    s1 = UserFactory(roles=["student"], created_at=utc(2026, 3, 1, 10))
    s2 = UserFactory(roles=["student"], created_at=utc(2026, 3, 2, 9))
    # s1's first booking: requested 03-03 09:00 (47 h after signup), accepted 2 h later, completed 03-05
    b1 = _booking(tutor, s1, "calculus", "completed", utc(2026, 3, 3, 9), confirmed=utc(2026, 3, 3, 11),
                  completed_at=utc(2026, 3, 5, 10), updated=utc(2026, 3, 5, 10))
    # s2's first booking, rejected an hour later
    b2 = _booking(tutor, s2, "physics", "rejected", utc(2026, 3, 4, 8), updated=utc(2026, 3, 4, 9))
    # an instant booking of s1, cancelled the next day
    b3 = _booking(tutor, s1, "calculus", "cancelled", utc(2026, 3, 6, 10), confirmed=utc(2026, 3, 6, 10),
             cancelled_at=utc(2026, 3, 7, 12), updated=utc(2026, 3, 7, 12))
    # an instant physics booking of s2 that ended in a no-show
    b5 = _booking(tutor, s2, "physics", "no_show", utc(2026, 3, 8, 8), confirmed=utc(2026, 3, 8, 8),
                  updated=utc(2026, 3, 9, 16))
    # today: s2 requests calculus at 08:00, the tutor accepts at 09:00
    b6 = _booking(tutor, s2, "calculus", "confirmed", utc(2026, 3, 10, 8), confirmed=utc(2026, 3, 10, 9))
    ReviewFactory(booking=b1, overall=5, created_at=utc(2026, 3, 5, 12))
    ReviewFactory(booking=b1, author_id=tutor.id, author_role="tutor", overall=None, preparedness=4,
                  created_at=utc(2026, 3, 5, 13))
    ReviewFactory(booking=b5, overall=2, created_at=utc(2026, 3, 10, 10))
    chat = ConversationFactory(users=(s1, tutor))
    for at in (utc(2026, 3, 3, 8), utc(2026, 3, 3, 8, 5), utc(2026, 3, 10, 7)):
        MessageFactory(conversation=chat, sender_id=s1.id, created_at=at)
    MessageFactory(conversation=chat, sender_id=tutor.id, created_at=utc(2026, 3, 3, 9))
    activity = [(s1.id, date(2026, 3, d), "login", 1) for d in (1, 3, 5, 10)]
    activity += [(s2.id, date(2026, 3, d), "login", 1) for d in (2, 3, 9)]
    activity += [(tutor.id, date(2026, 3, d), "api", 2) for d in range(1, 11)]
    activity += [(s1.id, date(2026, 3, 3), "chat", 2), (tutor.id, date(2026, 3, 3), "chat", 1)]
    with unit_of_work():
        services.record_activity_days(activity)
        _match_log(tutor, s1, s2, b1, b2, b3, b6)
    return {"admin": admin, "tutor": tutor, "s1": s1, "s2": s2}


def _match_log(tutor, s1, s2, b1, b2, b3, b6):
    """Matching's log, written through its own functions: three responses (calculus 03-02 and today, physics
    03-04) showing 3, 2 and 3 tutors; b1, b2 and today's b6 booked from them, b1 completed. A ``repeat`` outcome (b3)
    and a ``booked`` outcome without a booking (a simulated one) are not funnel bookings. The first calculus response
    served the fixed arm, the physics one and today's the learned arm."""
    from app.matching import learning

    others = [UserFactory(roles=["tutor"]).id for _ in range(2)]

    def shown(student, subject, at, tutors, arm="learned"):
        features = {"subject": subject, "level": "any", "mode": "online", "location": False, "budget": False,
                    "styles": 0, "times": 0}
        return learning.log_response(student.id, features, [{"tutor_id": t, "score": 0.5, "parts": dict.fromkeys(
            learning.PARTS, 0.5)} for t in tutors], arm, None, False, at=at)

    calculus = shown(s1, "calculus", utc(2026, 3, 2, 10), [tutor.id, *others], arm="fixed")
    physics = shown(s2, "physics", utc(2026, 3, 4, 7), [others[0], tutor.id])
    today = shown(s2, "calculus", utc(2026, 3, 10, 7, 30), [*others, tutor.id])
    learning.record_outcome(calculus, tutor.id, "booked", booking_id=b1.id, at=utc(2026, 3, 3, 9))
    learning.record_outcome(calculus, tutor.id, "completed", booking_id=b1.id, at=utc(2026, 3, 5, 10))
    learning.record_outcome(calculus, tutor.id, "repeat", booking_id=b3.id, at=utc(2026, 3, 6, 10))
    learning.record_outcome(calculus, others[0], "booked", at=utc(2026, 3, 2, 11))
    learning.record_outcome(physics, tutor.id, "booked", booking_id=b2.id, at=utc(2026, 3, 4, 8))
    learning.record_outcome(today, tutor.id, "booked", booking_id=b6.id, at=utc(2026, 3, 10, 8))
