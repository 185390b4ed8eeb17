"""The tutor impact dashboard (pandas): active students, repeat rate, retention, students' progress marks,
session outcomes, ratings per dimension, response times and the earnings of the period."""
from urllib.parse import urlencode

import pandas as pd

from app.common import time as clock
from app.extensions import db
from app.messaging import services as messaging
from app.payments import services as payments
from app.progress import notes as note_rules
from app.progress.window import dashboard_window, mean, median, ratio, week_start
from app.reviews import services as reviews
from app.scheduling import services as scheduling

RETENTION_STEPS = (1, 3, 5)
OUTCOMES = ("completed", "no_show", "cancelled")
BOOKING_COLUMNS = ["id", "student_id", "state", "start_at", "created_at", "confirmed_at", "updated_at"]
EARNINGS_FIGURES = ("gross_minor", "commission_minor", "refunds_minor", "net_minor", "sessions")


def _bookings(tutor):
    rows = db.session.scalars(scheduling.list_bookings(tutor, role="tutor")).unique().all()
    frame = pd.DataFrame([{name: getattr(row, name) for name in BOOKING_COLUMNS} for row in rows],
                         columns=BOOKING_COLUMNS)
    for name in ("start_at", "created_at", "confirmed_at", "updated_at"):
        frame[name] = pd.to_datetime(frame[name], utc=True)
    return frame


def tutor_impact(tutor, since=None, until=None, now=None):
    since, until = dashboard_window(since, until, now or clock.utcnow())
    bookings = _bookings(tutor)
    in_window = bookings[(bookings["start_at"] >= since) & (bookings["start_at"] < until)]
    completed_ever = bookings[(bookings["state"] == "completed") & (bookings["start_at"] < until)]
    active = set(in_window.loc[in_window["state"] == "completed", "student_id"])
    per_student = completed_ever[completed_ever["student_id"].isin(active)].groupby("student_id")["id"].count()
    ratings = reviews.ratings_of_tutor(tutor.id, since, until)
    return {
        "since": since, "until": until,
        "active_students": len(active),
        "repeat_rate": ratio(int((per_student >= 2).sum()), len(active)),
        "retention": [{"after_sessions": step, "students": int((per_student >= step).sum()),
                       "returned": int((per_student >= step + 1).sum()),
                       "rate": ratio(int((per_student >= step + 1).sum()), int((per_student >= step).sum()))}
                      for step in RETENTION_STEPS],
        "sessions": _outcomes(in_window),
        "progress_marks": _marks_by_week(note_rules.notes_of_tutor(tutor.id, since, until)),
        "ratings": _ratings(ratings),
        "response_times": {"booking_requests": _request_responses(bookings, since, until),
                           "messages": _message_responses(tutor.id, since, until)},
        "earnings": _earnings(tutor.id, since, until),
    }


def _outcomes(sessions):
    """Sessions that started in the window and ended completed, no-show or cancelled; rates over their sum."""
    counts = {state: int((sessions["state"] == state).sum()) for state in OUTCOMES}
    total = sum(counts.values())
    return {**counts, "total": total, "completion_rate": ratio(counts["completed"], total),
            "no_show_rate": ratio(counts["no_show"], total), "cancellation_rate": ratio(counts["cancelled"], total)}


def _marks_by_week(notes):
    frame = pd.DataFrame([{"session_at": n.session_at, "progress_mark": n.progress_mark, "student_id": n.student_id}
                          for n in notes], columns=["session_at", "progress_mark", "student_id"])
    if frame.empty:
        return []
    frame["week_start"] = week_start(frame["session_at"])
    grouped = frame.groupby("week_start", as_index=False).agg(
        notes=("progress_mark", "count"), average_mark=("progress_mark", "mean"), students=("student_id", "nunique"))
    return [{"week_start": row.week_start, "notes": int(row.notes), "students": int(row.students),
             "average_mark": round(float(row.average_mark), 2)} for row in grouped.itertuples()]


def _ratings(ratings):
    dimensions = list(reviews.STUDENT_DIMENSIONS)
    frame = pd.DataFrame(ratings, columns=["booking_id", "rated_at", *dimensions])
    trend = []
    if not frame.empty:
        frame["week_start"] = week_start(frame["rated_at"])
        for week, rows in frame.groupby("week_start", sort=True):
            trend.append({"week_start": week, "reviews": len(rows), **{name: mean(rows[name]) for name in dimensions}})
    return {"reviews": len(frame), "averages": {name: mean(frame[name]) for name in dimensions}, "trend": trend}


def _request_responses(bookings, since, until):
    """Requests made in the window and answered by the tutor: accepted (``confirmed_at``) or rejected (its last
    change). A decision recorded at or before the request's creation (instant bookings) is no answer."""
    asked = bookings[(bookings["created_at"] >= since) & (bookings["created_at"] < until)]
    decided_at = asked["confirmed_at"].where(asked["state"] != "rejected", asked["updated_at"])
    minutes = ((decided_at - asked["created_at"]).dt.total_seconds() / 60).dropna()
    minutes = minutes[minutes > 0]
    return {"answered": len(minutes), "median_minutes": median(minutes), "mean_minutes": mean(minutes)}


def _message_responses(tutor_id, since, until):
    delays = messaging.reply_delays(tutor_id, since, until)
    minutes = pd.Series([(replied - received).total_seconds() / 60 for received, replied in delays["replies"]],
                        dtype="float64")
    return {"answered": len(minutes), "unanswered": delays["unanswered"], "median_minutes": median(minutes),
            "mean_minutes": mean(minutes)}


def _earnings(tutor_id, since, until):
    """The period's earnings totals per currency (payments' report) and the link to its detail."""
    report = payments.tutor_earnings(tutor_id, since=since, until=until)
    totals = [{"currency": row["currency"], **{name: int(row[name]) for name in EARNINGS_FIGURES}}
              for row in report.totals.to_dict("records")]
    query = urlencode({"from": since.isoformat(), "to": until.isoformat()})
    return {"link": f"/api/v1/tutors/me/earnings?{query}", "totals": totals}
