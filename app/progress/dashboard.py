"""The student dashboard (pandas): sessions and hours per subject and week, progress marks, the tutors' ratings of
the student, goals with progress, streaks, upcoming sessions and areas to improve."""
from datetime import timedelta

import pandas as pd

from app.common import time as clock
from app.extensions import db
from app.progress import goals as goal_rules
from app.progress import notes as note_rules
from app.progress.window import dashboard_window, mean, week_of, week_start
from app.reviews import services as reviews
from app.scheduling import services as scheduling

UPCOMING_STATES = ("requested", "confirmed")
UPCOMING_LIMIT = 10
# Level progress reads the average of the latest marks in the goal's subject.
LEVEL_MARKS = 3
BOOKING_COLUMNS = ["id", "tutor_id", "subject", "state", "start_at", "end_at", "duration_minutes"]


def _bookings(student):
    rows = db.session.scalars(scheduling.list_bookings(student, role="student")).unique().all()
    frame = pd.DataFrame([{name: getattr(row, name) for name in BOOKING_COLUMNS} | {"tutor_name": row.tutor.full_name}
                          for row in rows], columns=[*BOOKING_COLUMNS, "tutor_name"])
    frame["start_at"] = pd.to_datetime(frame["start_at"], utc=True)
    frame["end_at"] = pd.to_datetime(frame["end_at"], utc=True)
    return frame


def student_dashboard(student, since=None, until=None, now=None):
    now = now or clock.utcnow()
    since, until = dashboard_window(since, until, now)
    bookings = _bookings(student)
    completed = bookings[(bookings["state"] == "completed") & (bookings["start_at"] < until)]
    in_window = completed[completed["start_at"] >= since]
    notes = _notes_frame(note_rules.notes_of_student(student.id, until))
    window_notes = notes[notes["session_at"] >= since]
    ratings = reviews.ratings_of_student(student.id, since, until)
    rating_averages = _rating_averages(ratings)
    return {
        "since": since, "until": until,
        "totals": {"sessions": len(in_window), "minutes": int(in_window["duration_minutes"].sum()),
                   "hours": _hours(in_window["duration_minutes"].sum()),
                   "subjects": int(in_window["subject"].nunique())},
        "sessions_by_week": _sessions_by_week(in_window),
        "progress_marks": [
            {"booking_id": int(row.booking_id), "session_at": row.session_at.to_pydatetime(), "subject": row.subject,
             "tutor_id": int(row.tutor_id), "progress_mark": int(row.progress_mark)}
            for row in window_notes.itertuples()],
        "ratings": {"points": ratings, "averages": rating_averages},
        "goals": [_goal_progress(goal, completed, notes) for goal in goal_rules.all_goals(student.id)],
        "streaks": _streaks(completed, until),
        "upcoming_sessions": _upcoming(bookings, now),
        "courses_in_progress": [],
        "areas_to_improve": {"lowest_rated_dimensions": _lowest(rating_averages),
                             "falling_subjects": _falling(window_notes)},
    }


def _hours(minutes):
    return round(float(minutes) / 60, 2)


def _notes_frame(notes):
    frame = pd.DataFrame([{"booking_id": n.booking_id, "tutor_id": n.tutor_id, "subject": n.subject,
                           "session_at": n.session_at, "progress_mark": n.progress_mark} for n in notes],
                         columns=["booking_id", "tutor_id", "subject", "session_at", "progress_mark"])
    frame["session_at"] = pd.to_datetime(frame["session_at"], utc=True)
    return frame


def _sessions_by_week(sessions):
    """One row per (week, subject) with a completed session: sessions, minutes and hours."""
    if sessions.empty:
        return []
    frame = sessions.assign(week_start=week_start(sessions["start_at"]))
    grouped = frame.groupby(["week_start", "subject"], as_index=False).agg(
        sessions=("id", "count"), minutes=("duration_minutes", "sum"))
    return [{"week_start": row.week_start, "subject": row.subject, "sessions": int(row.sessions),
             "minutes": int(row.minutes), "hours": _hours(row.minutes)} for row in grouped.itertuples()]


def _rating_averages(ratings):
    frame = pd.DataFrame(ratings, columns=["booking_id", "rated_at", *reviews.TUTOR_DIMENSIONS])
    return {name: mean(frame[name]) for name in reviews.TUTOR_DIMENSIONS}


def _goal_progress(goal, completed, notes):
    """Hours: completed sessions in the subject that started before ``to`` and the end of the target date.
    Level: the average of the latest LEVEL_MARKS progress marks in the subject, as a share of the way from 1 to 5."""
    end = goal_rules.target_end(goal)
    done = completed[(completed["subject"] == goal.subject) & (completed["start_at"] < end)]
    minutes = int(done["duration_minutes"].sum())
    hours_done = _hours(minutes)
    marks = notes[notes["subject"] == goal.subject]["progress_mark"].tail(LEVEL_MARKS)
    mark_average = mean(marks)
    return {
        "id": goal.id, "subject": goal.subject, "target_level": goal.target_level, "target_hours": goal.target_hours,
        "target_date": goal.target_date, "note": goal.note, "created_at": goal.created_at,
        "updated_at": goal.updated_at,
        "progress": {
            "sessions": len(done), "hours_done": hours_done,
            "hours_percent": None if goal.target_hours is None else round(min(100.0, 100 * minutes / 60
                                                                                / goal.target_hours), 1),
            "latest_marks_average": mark_average,
            "level_percent": None if goal.target_level is None or mark_average is None
            else round(100 * (mark_average - 1) / 4, 1),
        },
    }


def _streaks(completed, until):
    """Consecutive ISO weeks (UTC) with a completed session, up to the week of ``to``: the current run (ending
    this week, or last week when this week has none yet) and the longest run."""
    if completed.empty:
        return {"current_weeks": 0, "longest_weeks": 0}
    weeks = sorted(set(week_start(completed["start_at"])))
    longest = run = 1
    for previous, week in zip(weeks, weeks[1:], strict=False):
        run = run + 1 if week - previous == timedelta(weeks=1) else 1
        longest = max(longest, run)
    present = set(weeks)
    cursor = week_of(until - timedelta(microseconds=1))
    if cursor not in present:
        cursor -= timedelta(weeks=1)
    current = 0
    while cursor in present:
        current += 1
        cursor -= timedelta(weeks=1)
    return {"current_weeks": current, "longest_weeks": longest}


def _upcoming(bookings, now):
    upcoming = bookings[bookings["state"].isin(UPCOMING_STATES) & (bookings["start_at"] >= now)]
    upcoming = upcoming.sort_values(["start_at", "id"]).head(UPCOMING_LIMIT)
    return [{"booking_id": int(row.id), "subject": row.subject, "tutor_id": int(row.tutor_id),
             "tutor_name": row.tutor_name, "state": row.state, "start_at": row.start_at.to_pydatetime(),
             "end_at": row.end_at.to_pydatetime()} for row in upcoming.itertuples()]


def _lowest(averages):
    """The rated dimensions with the lowest average (ties all listed)."""
    rated = {name: value for name, value in averages.items() if value is not None}
    if not rated:
        return []
    low = min(rated.values())
    return [{"dimension": name, "average": value} for name, value in rated.items() if value == low]


def _falling(notes):
    """Subjects whose latest progress mark in the window is below their first one (two marks at least)."""
    falling = []
    for subject, marks in notes.groupby("subject", sort=True)["progress_mark"]:
        if len(marks) >= 2 and marks.iloc[-1] < marks.iloc[0]:
            falling.append({"subject": subject, "first_mark": int(marks.iloc[0]), "last_mark": int(marks.iloc[-1]),
                            "marks": len(marks)})
    return falling
