"""GET /students/me/dashboard: exact figures over a fixed past window, bad windows and roles."""
from datetime import timedelta

import pytest

from app.common.time import utcnow
from app.extensions import db
from tests.conftest import assert_error
from tests.factories import BookingFactory, ReviewFactory, UserFactory
from tests.progress.conftest import note, session, utc

WINDOW = {"from": "2026-09-07T00:00:00+00:00", "to": "2026-10-05T00:00:00+00:00"}
URL = "/api/v1/students/me/dashboard"
NO_STUDENT_DIMENSIONS = {"clarity": None, "knowledge": None, "responsiveness": None, "overall": None,
                         "would_recommend": None}


def tutor_rates(booking, written, **ratings):
    """The tutor's released rating of the student, written at ``written``."""
    return ReviewFactory(booking=booking, author_id=booking.tutor_id, author_role="tutor", released_at=written,
                         created_at=written, **NO_STUDENT_DIMENSIONS, **ratings)


@pytest.fixture
def history(client, auth, student, tutor, other_tutor):
    """Five weekly statistics sessions in July/August (30 min), then calculus and statistics in September."""
    for day in (6, 13, 20, 27):
        session(other_tutor, student, utc(2026, 7, day, 14), "statistics", 30)
    session(other_tutor, student, utc(2026, 8, 3, 14), "statistics", 30)
    note(session(tutor, student, utc(2026, 8, 31, 10)), 5)  # before the window: a goal's hours and marks only
    first = session(tutor, student, utc(2026, 9, 8, 10))
    second = session(tutor, student, utc(2026, 9, 10, 10), minutes=90)
    stats = session(other_tutor, student, utc(2026, 9, 15, 14), "statistics", 30)
    last = session(tutor, student, utc(2026, 9, 22, 10))
    session(tutor, student, utc(2026, 9, 16, 10), state="cancelled")
    session(tutor, student, utc(2026, 10, 6, 10))  # after the window
    for booking, mark in ((first, 4), (second, 3), (stats, 3), (last, 2)):
        note(booking, mark)
    tutor_rates(first, utc(2026, 9, 9, 8), preparedness=2, engagement=4, punctuality=5)
    tutor_rates(last, utc(2026, 9, 23, 8), preparedness=3, engagement=4, punctuality=4)
    hidden = tutor_rates(second, utc(2026, 9, 11, 8), preparedness=1, engagement=1, punctuality=1)
    hidden.status = "hidden"
    ReviewFactory(booking=stats, released_at=None, created_at=utc(2026, 9, 16, 8), author_id=stats.tutor_id,
                  author_role="tutor", preparedness=1, engagement=1, punctuality=1, **NO_STUDENT_DIMENSIONS)
    db.session.commit()
    upcoming = BookingFactory(tutor=tutor, student=student, start_at=utcnow().replace(microsecond=0)
                              + timedelta(days=2))
    for body in ({"subject": "calculus", "target_level": "university", "target_hours": 10,
                  "target_date": "2030-06-01"},
                 {"subject": "statistics", "target_hours": 4, "target_date": "2030-01-01", "note": "Stats"}):
        assert client.post("/api/v1/goals", json=body, headers=auth.headers(student)).status_code == 201
    return {"first": first, "second": second, "stats": stats, "last": last, "upcoming": upcoming}


def test_dashboard_figures(client, auth, student, tutor, history):
    response = client.get(URL, query_string=WINDOW, headers=auth.headers(student))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["from"], body["to"]) == (WINDOW["from"], WINDOW["to"])
    assert body["totals"] == {"sessions": 4, "minutes": 240, "hours": 4.0, "subjects": 2}
    assert body["sessions_by_week"] == [
        {"week_start": "2026-09-07", "subject": "calculus", "sessions": 2, "minutes": 150, "hours": 2.5},
        {"week_start": "2026-09-14", "subject": "statistics", "sessions": 1, "minutes": 30, "hours": 0.5},
        {"week_start": "2026-09-21", "subject": "calculus", "sessions": 1, "minutes": 60, "hours": 1.0},
    ]
    assert [(m["booking_id"], m["subject"], m["progress_mark"], m["tutor_id"]) for m in body["progress_marks"]] == [
        (history["first"].id, "calculus", 4, tutor.id), (history["second"].id, "calculus", 3, tutor.id),
        (history["stats"].id, "statistics", 3, history["stats"].tutor_id),
        (history["last"].id, "calculus", 2, tutor.id)]
    assert body["progress_marks"][0]["session_at"] == "2026-09-08T10:00:00+00:00"
    assert body["ratings"] == {
        "points": [
            {"booking_id": history["first"].id, "rated_at": "2026-09-09T08:00:00+00:00", "preparedness": 2,
             "engagement": 4, "punctuality": 5},
            {"booking_id": history["last"].id, "rated_at": "2026-09-23T08:00:00+00:00", "preparedness": 3,
             "engagement": 4, "punctuality": 4}],
        "averages": {"preparedness": 2.5, "engagement": 4.0, "punctuality": 4.5}}
    calculus, statistics = body["goals"]
    # Calculus before `to`: 31 Aug, 8, 10 (90 min), 22 Sep = 4.5 h of 10; latest three marks 4, 3, 2.
    assert calculus["progress"] == {"sessions": 4, "hours_done": 4.5, "hours_percent": 45.0,
                                    "latest_marks_average": 3.0, "level_percent": 50.0}
    assert (calculus["subject"], calculus["target_level"], calculus["target_hours"]) == ("calculus", "university", 10)
    # Statistics: six half hours = 3 h of 4; one mark (3) but no target level.
    assert statistics["progress"] == {"sessions": 6, "hours_done": 3.0, "hours_percent": 75.0,
                                      "latest_marks_average": 3.0, "level_percent": None}
    # Weeks of 6 Jul – 3 Aug (5), a gap, then 31 Aug – 21 Sep (4); the week of `to` (28 Sep) has none yet.
    assert body["streaks"] == {"current_weeks": 4, "longest_weeks": 5}
    upcoming = history["upcoming"]
    assert body["upcoming_sessions"] == [{
        "booking_id": upcoming.id, "subject": "calculus", "tutor_id": tutor.id, "tutor_name": tutor.full_name,
        "state": "confirmed", "start_at": upcoming.start_at.isoformat(), "end_at": upcoming.end_at.isoformat()}]
    assert body["courses_in_progress"] == []
    assert body["areas_to_improve"] == {
        "lowest_rated_dimensions": [{"dimension": "preparedness", "average": 2.5}],
        "falling_subjects": [{"subject": "calculus", "first_mark": 4, "last_mark": 2, "marks": 3}]}


def test_a_later_window_ends_the_current_streak(client, auth, student, history):
    window = {"from": "2026-10-05T00:00:00+00:00", "to": "2026-10-19T00:00:00+00:00"}
    body = client.get(URL, query_string=window, headers=auth.headers(student)).get_json()
    # 6 Oct is in the window; 28 Sep had none, so the run is the week of 5 Oct alone.
    assert body["streaks"] == {"current_weeks": 1, "longest_weeks": 5}
    assert body["totals"] == {"sessions": 1, "minutes": 60, "hours": 1.0, "subjects": 1}
    assert body["progress_marks"] == [] and body["ratings"]["points"] == []
    assert body["ratings"]["averages"] == {"preparedness": None, "engagement": None, "punctuality": None}
    assert body["areas_to_improve"] == {"lowest_rated_dimensions": [], "falling_subjects": []}


def test_empty_dashboard_with_the_default_window(app, client, auth, student):
    body = client.get(URL, headers=auth.headers(student)).get_json()
    assert body["totals"] == {"sessions": 0, "minutes": 0, "hours": 0.0, "subjects": 0}
    assert body["sessions_by_week"] == [] and body["goals"] == [] and body["upcoming_sessions"] == []
    assert body["streaks"] == {"current_weeks": 0, "longest_weeks": 0}
    from datetime import datetime

    span = datetime.fromisoformat(body["to"]) - datetime.fromisoformat(body["from"])
    assert span == timedelta(days=app.config["PROGRESS_DEFAULT_DAYS"])


def test_another_students_sessions_do_not_show(client, auth, other_student, history):
    body = client.get(URL, query_string=WINDOW, headers=auth.headers(other_student)).get_json()
    assert body["totals"]["sessions"] == 0 and body["goals"] == [] and body["progress_marks"] == []
    assert body["ratings"]["points"] == [] and body["upcoming_sessions"] == []


@pytest.mark.parametrize(("query", "field"), [
    ({"from": "2026-09-07T00:00:00", "to": WINDOW["to"]}, "from"),
    ({"from": WINDOW["from"], "to": "2026-10-05T00:00:00"}, "to"),
    ({"from": WINDOW["to"], "to": WINDOW["from"]}, "to"),
    ({"from": WINDOW["from"], "to": WINDOW["from"]}, "to"),
    ({"from": "2025-01-01T00:00:00+00:00", "to": "2026-01-03T00:00:00+00:00"}, "to"),
    ({"from": "yesterday"}, "from"),
])
def test_bad_windows(client, auth, student, query, field):
    body = assert_error(client.get(URL, query_string=query, headers=auth.headers(student)), 422)
    assert field in body["errors"], body


def test_longest_allowed_window(app, client, auth, student):
    days = app.config["ANALYTICS_MAX_DAYS"]
    query = {"from": "2025-01-01T00:00:00+00:00",
             "to": (utc(2025, 1, 1) + timedelta(days=days)).isoformat()}
    assert client.get(URL, query_string=query, headers=auth.headers(student)).status_code == 200


def test_only_students(client, auth, tutor):
    assert_error(client.get(URL), 401)
    assert_error(client.get(URL, headers=auth.headers(tutor)), 403, "student")
    peer = UserFactory(roles=["student", "tutor"])
    assert client.get(URL, headers=auth.headers(peer)).status_code == 200
