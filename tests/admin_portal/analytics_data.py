"""A few days of activity relative to now, for the portal's analytics page."""
from datetime import timedelta

from app.common.time import utcnow
from tests.factories import BookingFactory, ReviewFactory, UserFactory


def recent_activity():
    """Two students, a tutor, four bookings (two subjects) and two reviews over the last days."""
    from app.analytics import services
    from app.common.transactions import unit_of_work

    now = utcnow().replace(microsecond=0)
    tutor = UserFactory(roles=["tutor"], created_at=now - timedelta(days=30))
    students = [UserFactory(roles=["student"], created_at=now - timedelta(days=d)) for d in (6, 3)]
    bookings = []
    for days_ago, subject, student in ((5, "calculus", students[0]), (4, "physics", students[0]),
                                       (2, "calculus", students[1]), (1, "calculus", students[1])):
        created = now - timedelta(days=days_ago)
        bookings.append(BookingFactory(tutor=tutor, student=student, subject=subject, state="completed",
                                       created_at=created, updated_at=created + timedelta(hours=3),
                                       confirmed_at=created + timedelta(hours=1), start_at=created + timedelta(hours=2),
                                       completed_at=created + timedelta(hours=3)))
    ReviewFactory(booking=bookings[0], overall=5, created_at=now - timedelta(days=4))
    ReviewFactory(booking=bookings[2], overall=3, created_at=now - timedelta(days=1))
    with unit_of_work():
        services.record_activity_days([(s.id, (now - timedelta(days=d)).date(), "login", 1)
                                       for s in students for d in range(3)])
        _match_log(students[1], tutor, bookings[2], now - timedelta(days=2, hours=1))
        _match_log(students[0], tutor, bookings[1], now - timedelta(days=4, hours=1), "physics", "learned", 1)
    return {"tutor": tutor, "students": students}


def _match_log(student, tutor, booking, at, subject="calculus", arm="fixed", others=2):
    """One match response (by default: calculus, the fixed arm) showing the tutor and ``others`` tutors; the
    booking was requested from it."""
    from app.matching import learning

    features = {"subject": subject, "level": "any", "mode": "online", "location": False, "budget": False,
                "styles": 0, "times": 0}
    shown = [tutor.id, *(UserFactory(roles=["tutor"]).id for _ in range(others))]
    request_id = learning.log_response(student.id, features, [
        {"tutor_id": t, "score": 0.5, "parts": dict.fromkeys(learning.PARTS, 0.5)} for t in shown],
        arm, None, False, at=at)
    learning.record_outcome(request_id, tutor.id, "booked", booking_id=booking.id, at=booking.created_at)
