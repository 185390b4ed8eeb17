"""ICS feed: token lifecycle and an RFC 5545 calendar parsed back with icalendar."""
from datetime import timedelta

from icalendar import Calendar

from tests.conftest import assert_error
from tests.factories import BookingFactory, TutorFactory, UserFactory
from tests.scheduling.conftest import iso, utc

START = utc(2026, 12, 7, 15)


def feed_path(client, auth, user):
    response = client.post("/api/v1/calendar/feed-token", headers=auth.headers(user))
    assert response.status_code == 201
    url = response.get_json()["url"]
    assert url.startswith("http://localhost/api/v1/calendar/feed/") and url.endswith(".ics")
    return url[len("http://localhost"):]


def parse(response):
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    return Calendar.from_ical(response.data)


def test_feed_lists_confirmed_sessions_with_stable_uids(client, auth, freeze):
    freeze(utc(2026, 12, 1))
    tutor = TutorFactory()
    student = UserFactory(timezone="Asia/Tokyo")
    confirmed = BookingFactory(tutor=tutor, student=student, start_at=START)
    BookingFactory(tutor=tutor, student=student, start_at=START + timedelta(days=1), state="requested")
    BookingFactory(tutor=tutor, start_at=START + timedelta(days=2))  # another student's
    path = feed_path(client, auth, student)
    cal = parse(client.get(path))
    assert str(cal["VERSION"]) == "2.0" and "PRODID" in cal
    events = cal.walk("VEVENT")
    assert [str(event["UID"]) for event in events] == [f"booking-{confirmed.id}@tutorhub.local"]
    [event] = events
    assert event.decoded("DTSTART") == START and event.decoded("DTEND") == START + timedelta(hours=1)
    assert int(event["SEQUENCE"]) == 0 and str(event["STATUS"]) == "CONFIRMED"
    assert tutor.full_name in str(event["SUMMARY"])

    # Reschedule then cancel: same UID, SEQUENCE grows, STATUS:CANCELLED.
    client.post(f"/api/v1/admin/bookings/{confirmed.id}/reschedule", json={"start": iso(START + timedelta(hours=2))},
                headers=auth.headers(UserFactory(roles=["admin"])))
    [event] = parse(client.get(path)).walk("VEVENT")
    assert event.decoded("DTSTART") == START + timedelta(hours=2) and int(event["SEQUENCE"]) == 1
    client.post(f"/api/v1/bookings/{confirmed.id}/cancel", json={"reason": "Trip"}, headers=auth.headers(tutor))
    [event] = parse(client.get(path)).walk("VEVENT")
    assert str(event["UID"]) == f"booking-{confirmed.id}@tutorhub.local"
    assert str(event["STATUS"]) == "CANCELLED" and int(event["SEQUENCE"]) == 2

    # The tutor's own feed shows the same session from their side.
    [tutor_event, _other] = parse(client.get(feed_path(client, auth, tutor))).walk("VEVENT")
    assert str(tutor_event["UID"]) == f"booking-{confirmed.id}@tutorhub.local"
    assert student.full_name in str(tutor_event["SUMMARY"])


def test_new_token_replaces_old_and_revoke(client, auth):
    user = UserFactory()
    first = feed_path(client, auth, user)
    second = feed_path(client, auth, user)
    assert_error(client.get(first), 404)
    assert client.get(second).status_code == 200
    assert client.delete("/api/v1/calendar/feed-token", headers=auth.headers(user)).status_code == 204
    assert_error(client.get(second), 404)
    assert_error(client.delete("/api/v1/calendar/feed-token", headers=auth.headers(user)), 404)


def test_feed_token_auth_and_unknown_token(client):
    assert_error(client.post("/api/v1/calendar/feed-token"), 401)
    assert_error(client.delete("/api/v1/calendar/feed-token"), 401)
    assert_error(client.get("/api/v1/calendar/feed/not-a-token.ics"), 404)


def test_feed_of_deactivated_user_is_gone(client, auth, db):
    user = UserFactory()
    path = feed_path(client, auth, user)
    user.is_active = False
    db.session.commit()
    assert_error(client.get(path), 404)
