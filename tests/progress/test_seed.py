"""`flask seed-demo`: the demo student's dashboard and the demo tutors' impact agree with the demo sessions."""
from datetime import UTC, timedelta

import sqlalchemy as sa

from app.extensions import db
from app.progress.models import LearningGoal, SessionNote
from app.progress.seed import DEMO_GOALS, DEMO_NOTES
from app.reviews.seed import DEMO_REVIEWS
from app.scheduling.models import Booking
from app.seed import seed_demo

SAM, MARIA, JAMES = "sam.student@tutorhub.test", "maria.garcia@tutorhub.test", "james.okafor@tutorhub.test"


def _monday(moment):
    day = moment.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


def _completed(**where):
    return db.session.scalars(sa.select(Booking).filter_by(state="completed", **where).order_by(Booking.start_at)).all()


def test_demo_dashboard_and_impact_agree_with_the_demo_sessions(client, auth):
    users = seed_demo()
    sam, maria, james = users[SAM], users[MARIA], users[JAMES]
    dashboard = client.get("/api/v1/students/me/dashboard", headers=auth.headers(sam)).get_json()
    sessions = _completed(student_id=sam.id)
    # The demo sessions: calculus with María three days ago, Python with James six hours ago, one hour each.
    assert [(b.tutor_id, b.subject, b.duration_minutes) for b in sessions] == [
        (maria.id, "calculus", 60), (james.id, "python", 60)]
    assert dashboard["totals"] == {"sessions": 2, "minutes": 120, "hours": 2.0, "subjects": 2}
    assert sum(row["sessions"] for row in dashboard["sessions_by_week"]) == 2
    assert sorted((row["subject"], row["hours"]) for row in dashboard["sessions_by_week"]) == [
        ("calculus", 1.0), ("python", 1.0)]
    assert [(m["booking_id"], m["subject"], m["progress_mark"]) for m in dashboard["progress_marks"]] == [
        (sessions[0].id, "calculus", DEMO_NOTES[(MARIA, SAM, "calculus")]["progress_mark"]),
        (sessions[1].id, "python", DEMO_NOTES[(JAMES, SAM, "python")]["progress_mark"])]
    student_review, tutor_review = DEMO_REVIEWS[(MARIA, SAM)]
    assert [{k: v for k, v in point.items() if k != "rated_at"} for point in dashboard["ratings"]["points"]] == [
        {"booking_id": sessions[0].id, "preparedness": tutor_review["preparedness"],
         "engagement": tutor_review["engagement"], "punctuality": tutor_review["punctuality"]}]
    assert dashboard["areas_to_improve"]["lowest_rated_dimensions"] == [
        {"dimension": "preparedness", "average": float(tutor_review["preparedness"])}]
    calculus, statistics = dashboard["goals"]
    assert [goal["subject"] for goal in dashboard["goals"]] == [goal["subject"] for goal in DEMO_GOALS[SAM]]
    # One calculus hour of 20 done; one calculus mark (3): halfway from 1 to 5.
    assert calculus["progress"] == {"sessions": 1, "hours_done": 1.0, "hours_percent": 5.0,
                                    "latest_marks_average": 3.0, "level_percent": 50.0}
    assert statistics["progress"] == {"sessions": 0, "hours_done": 0.0, "hours_percent": 0.0,
                                      "latest_marks_average": None, "level_percent": None}
    # Three days ago and six hours ago: one ISO week or two consecutive ones, the latest this week or last.
    weeks = {_monday(b.start_at) for b in sessions}
    assert dashboard["streaks"] == {"current_weeks": len(weeks), "longest_weeks": len(weeks)}
    assert dashboard["courses_in_progress"] == []

    window = {"from": dashboard["from"], "to": dashboard["to"]}
    impact = client.get("/api/v1/tutors/me/impact", query_string=window, headers=auth.headers(maria)).get_json()
    maria_sessions = _completed(tutor_id=maria.id)
    assert {b.student_id for b in maria_sessions} == {sam.id}
    assert impact["active_students"] == 1
    assert impact["sessions"] == {"completed": 1, "no_show": 0, "cancelled": 0, "total": 1, "completion_rate": 1.0,
                                  "no_show_rate": 0.0, "cancellation_rate": 0.0}
    assert [(row["notes"], row["average_mark"]) for row in impact["progress_marks"]] == [(1, 3.0)]
    assert impact["ratings"]["reviews"] == 1
    assert impact["ratings"]["averages"] == {name: float(student_review[name]) for name in
                                             ("clarity", "knowledge", "responsiveness", "punctuality", "overall")}
    earnings = client.get("/api/v1/tutors/me/earnings", query_string=window, headers=auth.headers(maria)).get_json()
    assert impact["earnings"]["totals"] == earnings["totals"]
    assert earnings["totals"] and earnings["totals"][0]["sessions"] == 1

    james_impact = client.get("/api/v1/tutors/me/impact", query_string=window,
                              headers=auth.headers(james)).get_json()
    assert james_impact["active_students"] == 1 and james_impact["sessions"]["completed"] == 1
    assert [(row["notes"], row["average_mark"]) for row in james_impact["progress_marks"]] == [(1, 4.0)]

    note = client.get(f"/api/v1/bookings/{sessions[0].id}/session-note", headers=auth.headers(sam)).get_json()
    assert {k: note[k] for k in ("topics", "homework", "progress_mark")} == DEMO_NOTES[(MARIA, SAM, "calculus")]


def test_seeding_twice_writes_goals_and_notes_once(app):
    seed_demo()
    counts = (db.session.scalar(sa.select(sa.func.count()).select_from(LearningGoal)),
              db.session.scalar(sa.select(sa.func.count()).select_from(SessionNote)))
    seed_demo()
    assert counts == (2, 3)
    assert (db.session.scalar(sa.select(sa.func.count()).select_from(LearningGoal)),
            db.session.scalar(sa.select(sa.func.count()).select_from(SessionNote))) == counts
