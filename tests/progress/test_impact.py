"""GET /tutors/me/impact: exact figures over a fixed past window, bad windows and roles."""
from datetime import timedelta

import pytest

from app.common.time import utcnow
from app.extensions import db
from tests.conftest import assert_error
from tests.factories import ConversationFactory, MessageFactory, ReviewFactory, UserFactory, fund_wallet
from tests.progress.conftest import note, session, utc

WINDOW = {"from": "2026-09-07T00:00:00+00:00", "to": "2026-10-05T00:00:00+00:00"}
URL = "/api/v1/tutors/me/impact"


def student_rates(booking, written, status="visible", **ratings):
    return ReviewFactory(booking=booking, released_at=written, created_at=written, status=status, **ratings)


@pytest.fixture
def history(tutor, other_tutor, student, other_student):
    """Student: four completed sessions (one before the window); other student: completed, no-show, cancelled;
    a third student's request rejected; another tutor's sessions never count."""
    third = UserFactory()
    session(tutor, student, utc(2026, 8, 31, 10))
    first = session(tutor, student, utc(2026, 9, 8, 10))
    second = session(tutor, student, utc(2026, 9, 10, 10), minutes=90)
    last = session(tutor, student, utc(2026, 9, 22, 10))
    session(tutor, student, utc(2026, 10, 6, 10))  # after the window
    other = session(tutor, other_student, utc(2026, 9, 9, 10))
    # Requests made in the window and answered after 30 min (no-show), 60 min (cancelled), 120 min (rejected).
    session(tutor, other_student, utc(2026, 9, 16, 10), state="no_show", created_at=utc(2026, 9, 14, 8),
            confirmed_at=utc(2026, 9, 14, 8, 30))
    session(tutor, other_student, utc(2026, 9, 23, 10), state="cancelled", created_at=utc(2026, 9, 15, 9),
            confirmed_at=utc(2026, 9, 15, 10))
    session(tutor, third, utc(2026, 9, 25, 10), state="rejected", created_at=utc(2026, 9, 20, 10),
            updated_at=utc(2026, 9, 20, 12))
    # An instant booking made in the window for a session after it: confirmed on creation, no answer.
    session(tutor, third, utc(2026, 10, 20, 10), state="confirmed", created_at=utc(2026, 9, 21, 10),
            confirmed_at=utc(2026, 9, 21, 10))
    session(other_tutor, student, utc(2026, 9, 15, 14), "statistics", 30)
    for booking, mark in ((first, 4), (second, 3), (other, 5), (last, 2)):
        note(booking, mark)
    student_rates(first, utc(2026, 9, 9, 8), clarity=5, knowledge=4, responsiveness=3, punctuality=2, overall=4)
    student_rates(other, utc(2026, 9, 10, 8), clarity=4, knowledge=4, responsiveness=4, punctuality=4, overall=4)
    student_rates(last, utc(2026, 9, 23, 8), clarity=3, knowledge=3, responsiveness=3, punctuality=3, overall=3)
    student_rates(second, utc(2026, 9, 11, 8), status="hidden", clarity=1, knowledge=1, responsiveness=1,
                  punctuality=1, overall=1)
    chat = ConversationFactory(users=(tutor, student))
    for sender, at in ((student, utc(2026, 9, 10, 10)), (student, utc(2026, 9, 10, 10, 5)),
                       (tutor, utc(2026, 9, 10, 10, 20)), (tutor, utc(2026, 9, 10, 10, 30)),
                       (student, utc(2026, 9, 30, 12))):
        MessageFactory(conversation=chat, sender_id=sender.id, created_at=at)
    other_chat = ConversationFactory(users=(tutor, other_student))
    MessageFactory(conversation=other_chat, sender_id=other_student.id, created_at=utc(2026, 9, 12, 9))
    MessageFactory(conversation=other_chat, sender_id=tutor.id, created_at=utc(2026, 9, 12, 10))
    MessageFactory(conversation=other_chat, sender_id=other_student.id, created_at=utc(2026, 9, 1, 9))
    db.session.commit()
    return {"first": first, "other": other, "last": last}


def test_impact_figures(client, auth, tutor, history):
    response = client.get(URL, query_string=WINDOW, headers=auth.headers(tutor))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["from"], body["to"]) == (WINDOW["from"], WINDOW["to"])
    assert body["active_students"] == 2
    # Student: 4 completed sessions before `to`; other student: 1.
    assert body["repeat_rate"] == 0.5
    assert body["retention"] == [
        {"after_sessions": 1, "students": 2, "returned": 1, "rate": 0.5},
        {"after_sessions": 3, "students": 1, "returned": 1, "rate": 1.0},
        {"after_sessions": 5, "students": 0, "returned": 0, "rate": None}]
    assert body["sessions"] == {"completed": 4, "no_show": 1, "cancelled": 1, "total": 6, "completion_rate": 0.6667,
                                "no_show_rate": 0.1667, "cancellation_rate": 0.1667}
    assert body["progress_marks"] == [
        {"week_start": "2026-09-07", "notes": 3, "students": 2, "average_mark": 4.0},
        {"week_start": "2026-09-21", "notes": 1, "students": 1, "average_mark": 2.0}]
    assert body["ratings"] == {
        "reviews": 3,
        "averages": {"clarity": 4.0, "knowledge": 3.67, "responsiveness": 3.33, "punctuality": 3.0, "overall": 3.67},
        "trend": [
            {"week_start": "2026-09-07", "reviews": 2, "clarity": 4.5, "knowledge": 4.0, "responsiveness": 3.5,
             "punctuality": 3.0, "overall": 4.0},
            {"week_start": "2026-09-21", "reviews": 1, "clarity": 3.0, "knowledge": 3.0, "responsiveness": 3.0,
             "punctuality": 3.0, "overall": 3.0}]}
    assert body["response_times"] == {
        "booking_requests": {"answered": 3, "median_minutes": 60.0, "mean_minutes": 70.0},
        # 20 min (two messages, timed from the first) and 60 min; the 30 Sep message is unanswered.
        "messages": {"answered": 2, "unanswered": 1, "median_minutes": 40.0, "mean_minutes": 40.0}}
    assert body["earnings"] == {
        "link": "/api/v1/tutors/me/earnings?from=2026-09-07T00%3A00%3A00%2B00%3A00&to=2026-10-05T00%3A00%3A00%2B00%3A00",
        "totals": []}


def test_earnings_follow_payments(client, auth, tutor, student):
    """A paid session settled today: the impact's totals are payments' earnings report totals for the window."""
    from app.common.transactions import unit_of_work
    from app.payments import services as payments

    fund_wallet(student, 10000)
    now = utcnow()
    booking = session(tutor, student, now - timedelta(hours=3), price_minor=4000, currency="USD")
    with unit_of_work():
        payments.hold_for_booking(booking.id, student.id, tutor.id, 4000, "USD")
        payments.settle_cause(payments.BOOKING, booking.id, 0, "completed")
    window = {"from": (now - timedelta(days=1)).isoformat(), "to": (now + timedelta(hours=1)).isoformat()}
    earnings = client.get("/api/v1/tutors/me/earnings", query_string=window, headers=auth.headers(tutor)).get_json()
    body = client.get(URL, query_string=window, headers=auth.headers(tutor)).get_json()
    assert earnings["totals"] and earnings["totals"][0]["gross_minor"] == 4000
    assert body["earnings"]["totals"] == earnings["totals"]
    assert body["earnings"]["link"].startswith("/api/v1/tutors/me/earnings?from=")


def test_a_tutor_without_history(client, auth, other_tutor):
    body = client.get(URL, headers=auth.headers(other_tutor)).get_json()
    assert body["active_students"] == 0 and body["repeat_rate"] is None
    assert body["sessions"] == {"completed": 0, "no_show": 0, "cancelled": 0, "total": 0, "completion_rate": None,
                                "no_show_rate": None, "cancellation_rate": None}
    assert body["progress_marks"] == [] and body["ratings"]["trend"] == []
    assert body["response_times"]["messages"] == {"answered": 0, "unanswered": 0, "median_minutes": None,
                                                  "mean_minutes": None}


def test_another_tutors_history_does_not_show(client, auth, other_tutor, history):
    body = client.get(URL, query_string=WINDOW, headers=auth.headers(other_tutor)).get_json()
    # The other tutor's only session: one completed statistics half hour, no notes, reviews or messages.
    assert body["active_students"] == 1 and body["sessions"]["total"] == 1
    assert body["progress_marks"] == [] and body["ratings"]["reviews"] == 0
    assert body["response_times"]["booking_requests"]["answered"] == 0


@pytest.mark.parametrize(("query", "field"), [
    ({"from": "2026-09-07T00:00:00", "to": WINDOW["to"]}, "from"),
    ({"from": WINDOW["to"], "to": WINDOW["from"]}, "to"),
    ({"from": "2025-01-01T00:00:00+00:00", "to": "2026-01-03T00:00:00+00:00"}, "to"),
])
def test_bad_windows(client, auth, tutor, query, field):
    body = assert_error(client.get(URL, query_string=query, headers=auth.headers(tutor)), 422)
    assert field in body["errors"], body


def test_only_tutors(client, auth, student):
    assert_error(client.get(URL), 401)
    assert_error(client.get(URL, headers=auth.headers(student)), 403, "tutor")
