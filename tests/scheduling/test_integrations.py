"""Scheduling feeds matching (history, availability) and search (available_start/available_end)."""
from datetime import timedelta

from app.common.time import utcnow
from tests.factories import (
    AvailabilityRuleFactory,
    BookingFactory,
    SchedulingSettingsFactory,
    SubjectFactory,
    TutorProfileFactory,
    TutorSubjectFactory,
    UserFactory,
    fund_wallet,
)


def _tutor_with_hours(name):
    user = UserFactory(roles=["tutor"], full_name=name, timezone="UTC")
    profile = TutorProfileFactory(user=user, mode="online", rate_cents=3000, currency="USD")
    TutorSubjectFactory(profile=profile, subject=SubjectFactory(slug="mathematics"), level="secondary")
    SchedulingSettingsFactory(tutor_id=user.id, min_notice_minutes=0)
    for weekday in range(7):
        AvailabilityRuleFactory(tutor_id=user.id, weekday=weekday, start_minute=0, end_minute=24 * 60 - 30)
    return user


def _window(days_ahead=3):
    start = (utcnow() + timedelta(days=days_ahead)).replace(hour=10, minute=0, second=0, microsecond=0)
    return start, start + timedelta(hours=2)


def test_matching_uses_completed_sessions_and_real_availability(client, auth, app):
    free, busy = _tutor_with_hours("Free Tutor"), _tutor_with_hours("Booked Tutor")
    student = UserFactory(roles=["student"])
    past = utcnow().replace(microsecond=0) - timedelta(days=7)
    for _ in range(2):
        BookingFactory(tutor=busy, student=student, state="completed", start_at=past, completed_at=past)
        past += timedelta(hours=2)
    start, end = _window()
    BookingFactory(tutor=busy, student=UserFactory(), state="confirmed", start_at=start, duration_minutes=120)

    body = {"subject": "mathematics", "level": "secondary", "mode": "online",
            "preferred_times": [{"start": start.isoformat(), "end": end.isoformat()}]}
    response = client.post("/api/v1/matches", json=body, headers=auth.headers(student))
    assert response.status_code == 200, response.get_json()
    parts = {m["tutor"]["id"]: m["parts"] for m in response.get_json()["matches"]}
    assert parts[busy.id]["history"] > parts[free.id]["history"] == 0
    assert parts[free.id]["availability"] == 1.0
    assert parts[busy.id]["availability"] == 0.0


def test_search_available_window_excludes_booked_tutors(client, app):
    free, booked = _tutor_with_hours("Free Tutor"), _tutor_with_hours("Booked Tutor")
    half_booked = _tutor_with_hours("Half-booked Tutor")
    no_hours = TutorProfileFactory(user=UserFactory(roles=["tutor"]), mode="online").user_id
    start, end = _window()
    BookingFactory(tutor=booked, student=UserFactory(), state="requested", start_at=start, duration_minutes=120)
    # 10:00-11:00 taken, 11:00 still free: a slot in the window, as /slots says
    BookingFactory(tutor=half_booked, student=UserFactory(), state="requested", start_at=start, duration_minutes=60)

    response = client.get("/api/v1/tutors", query_string={
        "available_start": start.isoformat(), "available_end": end.isoformat()})
    assert response.status_code == 200, response.get_json()
    ids = {tutor["id"] for tutor in response.get_json()}
    assert ids == {free.id, half_booked.id}
    assert booked.id not in ids and no_hours not in ids


def test_bookings_live_in_the_one_conversation_of_the_pair(client, auth, app):
    """Every booking change between two people is a system line in their one conversation: no thread per
    booking, and the chat they already had is the one that gets the lines."""
    from datetime import timedelta

    tutor = _tutor_with_hours("Chatty Tutor")
    student = UserFactory(roles=["student"])
    fund_wallet(student, 6000)  # the tutor's profile charges 30.00 USD an hour; two sessions
    chat = client.post("/api/v1/conversations", headers=auth.headers(student), json={"user_id": tutor.id})
    assert chat.status_code in (200, 201), chat.get_json()
    start, _end = _window()
    booking_ids = []
    for offset in (0, 2):
        response = client.post("/api/v1/bookings", headers=auth.headers(student), json={
            "tutor_id": tutor.id, "start": (start + timedelta(hours=offset)).isoformat(), "duration": 60,
            "subject": "mathematics"})
        assert response.status_code == 201, response.get_json()
        booking_ids.append(response.get_json()["id"])
        assert client.post(f"/api/v1/bookings/{booking_ids[-1]}/accept", headers=auth.headers(tutor)).status_code == 200

    conversations = client.get("/api/v1/conversations", headers=auth.headers(student)).get_json()
    assert [c["id"] for c in conversations] == [chat.get_json()["id"]]
    assert conversations[0]["unread_count"] == 2  # the tutor's two acceptances
    history = client.get(f"/api/v1/conversations/{conversations[0]['id']}/messages",
                         headers=auth.headers(student)).get_json()
    oldest_first = sorted(history["messages"], key=lambda m: m["id"])
    lines = [(m["kind"], m["booking_id"], m["body"].split(":")[0]) for m in oldest_first]
    assert lines == [("booking", booking_ids[0], f"Booking #{booking_ids[0]} requested"),
                     ("booking", booking_ids[0], f"Booking #{booking_ids[0]} confirmed"),
                     ("booking", booking_ids[1], f"Booking #{booking_ids[1]} requested"),
                     ("booking", booking_ids[1], f"Booking #{booking_ids[1]} confirmed")]
    assert "Mathematics" in oldest_first[0]["body"]
    assert client.get("/api/v1/conversations", headers=auth.headers(tutor)).get_json()[0]["id"] == chat.get_json()["id"]
