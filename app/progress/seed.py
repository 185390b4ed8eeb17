"""Demo data for `flask seed-demo`: the demo student's learning goals and the tutors' notes on the demo
sessions, so the student dashboard and the tutors' impact show them. Running it twice changes nothing; the
caller's unit of work commits."""
from datetime import timedelta

import sqlalchemy as sa

from app.common.time import utcnow
from app.extensions import db
from app.progress import services
from app.progress.models import LearningGoal, SessionNote
from app.scheduling import services as scheduling

# student email → goals (days from today to the target date)
DEMO_GOALS = {
    "sam.student@tutorhub.test": [
        {"subject": "calculus", "target_level": "university", "target_hours": 20, "days": 150,
         "note": "Ready for the AP Calculus BC exam in May."},
        {"subject": "statistics", "target_hours": 10, "days": 90, "note": "Hypothesis tests for the science fair."},
    ],
}
# (tutor email, student email, subject) of a completed demo session → the tutor's note on it
DEMO_NOTES = {
    ("maria.garcia@tutorhub.test", "sam.student@tutorhub.test", "calculus"): {
        "topics": "Limits, continuity and the squeeze theorem", "homework": "Exercises 2.3: 1–15 (odd)",
        "progress_mark": 3},
    ("james.okafor@tutorhub.test", "sam.student@tutorhub.test", "python"): {
        "topics": "Lists, dictionaries and list comprehensions", "homework": "Word-count script over a text file",
        "progress_mark": 4},
    ("yuki.tanaka@tutorhub.test", "lea.martin@tutorhub.test", "japanese"): {
        "topics": "N4 grammar: ～たり～たり, ～ながら", "homework": "Twenty kanji from lesson 12", "progress_mark": 4},
}


def seed_progress(users_by_email):
    """The demo goals and session notes, each written once."""
    _seed_goals(users_by_email)
    _seed_notes(users_by_email)


def _seed_goals(users_by_email):
    today = utcnow().date()
    for email, goals in DEMO_GOALS.items():
        student = users_by_email.get(email)
        if student is None:
            continue
        existing = set(db.session.scalars(sa.select(LearningGoal.subject).where(LearningGoal.student_id == student.id)))
        for goal in goals:
            if goal["subject"] in existing:
                continue
            data = {key: value for key, value in goal.items() if key != "days"}
            services.create_goal(student, {**data, "target_date": today + timedelta(days=goal["days"])})


def _seed_notes(users_by_email):
    for (tutor_email, student_email, subject), note in DEMO_NOTES.items():
        tutor, student = users_by_email.get(tutor_email), users_by_email.get(student_email)
        if tutor is None or student is None:
            continue
        sessions = db.session.scalars(scheduling.list_bookings(tutor, state="completed", role="tutor")).unique()
        for booking in sessions:
            if booking.student_id != student.id or booking.subject != subject:
                continue
            if db.session.get(SessionNote, booking.id) is None:
                services.create_note(tutor, booking.id, dict(note))
