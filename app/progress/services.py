"""Progress's public face: the routes, the seed and other domains call these, never the modules behind.

Behind it: ``goals`` (learning goals), ``notes`` (session notes), ``dashboard`` (the student dashboard) and
``impact`` (the tutor impact dashboard). Nothing here commits: the caller's unit of work does.
"""
from app.progress import dashboard, goals, impact, notes
from app.progress.models import LEVELS

__all__ = ["LEVELS", "create_goal", "create_note", "delete_goal", "edit_note", "get_goal", "get_note",
           "goals_query", "student_dashboard", "tutor_impact", "update_goal"]


def goals_query(student):
    return goals.goals_query(student)


def get_goal(student, goal_id):
    return goals.get_goal(student, goal_id)


def create_goal(student, data, now=None):
    return goals.create_goal(student, data, now=now)


def update_goal(student, goal_id, changes):
    return goals.update_goal(student, goal_id, changes)


def delete_goal(student, goal_id):
    goals.delete_goal(student, goal_id)


def create_note(user, booking_id, data):
    return notes.create_note(user, booking_id, data)


def edit_note(user, booking_id, changes, now=None):
    return notes.edit_note(user, booking_id, changes, now=now)


def get_note(user, booking_id):
    return notes.get_note(user, booking_id)


def student_dashboard(student, since=None, until=None, now=None):
    return dashboard.student_dashboard(student, since, until, now=now)


def tutor_impact(tutor, since=None, until=None, now=None):
    return impact.tutor_impact(tutor, since, until, now=now)
