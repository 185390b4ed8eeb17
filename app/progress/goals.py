"""Learning goals: a student's targets per subject (a level, hours or both, by a date)."""
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from app.common import time as clock
from app.common.errors import Invalid, NotFound
from app.extensions import db
from app.progress.models import LearningGoal
from app.tutors import services as tutors

FIELDS = ("subject", "target_level", "target_hours", "target_date", "note")


def goals_query(student):
    """The student's goals, oldest first (a SELECT to paginate)."""
    return sa.select(LearningGoal).where(LearningGoal.student_id == student.id).order_by(LearningGoal.id)


def all_goals(student_id):
    return db.session.scalars(sa.select(LearningGoal).where(LearningGoal.student_id == student_id)
                              .order_by(LearningGoal.id)).all()


def get_goal(student, goal_id):
    """One of the student's goals; anyone else's (or none) is 404."""
    goal = db.session.get(LearningGoal, goal_id)
    if goal is None or goal.student_id != student.id:
        raise NotFound("No such goal.")
    return goal


def _today(now):
    return (now or clock.utcnow()).date()


def create_goal(student, data, now=None):
    """A new goal: a known subject, a target (level and/or hours) and a target date after today (UTC)."""
    tutors.subject_by_slug(data["subject"])
    if data["target_date"] <= _today(now):
        raise Invalid("The target date must be in the future.", errors={"target_date": ["Must be after today."]})
    goal = LearningGoal(student_id=student.id, subject=data["subject"], target_level=data.get("target_level"),
                        target_hours=data.get("target_hours"), target_date=data["target_date"],
                        note=data.get("note") or "")
    _require_target(goal)
    db.session.add(goal)
    db.session.flush()
    return goal


def update_goal(student, goal_id, changes):
    """Change some fields of one of the student's goals; it keeps at least one target."""
    goal = get_goal(student, goal_id)
    if "subject" in changes:
        tutors.subject_by_slug(changes["subject"])
    for name in FIELDS:
        if name in changes:
            value = changes[name]
            setattr(goal, name, "" if name == "note" and value is None else value)
    _require_target(goal)
    db.session.flush()
    return goal


def delete_goal(student, goal_id):
    db.session.delete(get_goal(student, goal_id))
    db.session.flush()


def _require_target(goal):
    if goal.target_level is None and goal.target_hours is None:
        message = "A goal needs a target level or target hours."
        raise Invalid(message, errors={"target_level": [message], "target_hours": [message]})


def target_end(goal):
    """The goal's target date as the (exclusive) instant its day ends, UTC."""
    day = goal.target_date
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
