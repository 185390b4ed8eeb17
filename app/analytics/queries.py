"""The day figures, computed from the source tables (read only) for whole UTC days ``[first, last]``.

One read per source over the window, bucketed per UTC day with pandas. Each figure is one row
``(day, metric, subject, currency, value)``; ``subject`` is '' for platform-wide figures and ``currency`` is ''
except for money. What each figure counts:

* engagement: ``signups`` (users created that day), ``active_users`` (distinct users in the activity log that
  day), ``weekly_active_users`` (distinct users in the activity log over the 7 days ending that day),
  ``logins`` (users who signed in that day), ``chat_messages`` (messages people sent, not booking system lines),
  ``chat_senders`` (distinct senders of those).
* matching, per subject: the match funnel from matching's log (read only): ``shown`` (tutors shown in match
  responses, by the response's time and requested subject), ``match_requested`` (bookings created that day that
  matching attributed to a tutor shown, its ``booked`` outcome, by the subject of that match request) and
  ``match_completed`` (those bookings' sessions completed that day), each also per A/B arm that served the match
  response (``shown_fixed``, ``shown_learned``, ``match_requested_fixed`` …, summing to the figure); and over
  every booking ``requested`` (bookings created), ``confirmed`` (bookings confirmed, instantly or by the tutor),
  ``completed`` (sessions completed), ``first_bookings`` (a student's first booking ever),
  ``first_booking_seconds`` (sum over those of the time from the student's signup). Matching prunes its log
  after MATCH_LOG_RETENTION_DAYS: a day rolled up again after that has no ``shown`` figures any more.
* marketplace, per subject: ``accepted`` (requests a tutor accepted: confirmed more than a second after
  creation), ``response_seconds`` (their summed time to acceptance), ``rejected`` and ``expired`` (requests that
  ended so that day, by the booking's last update), ``cancelled`` (by ``cancelled_at``), ``no_shows`` (sessions
  marked no-show that day, by last update); and per currency ``gmv_minor`` and ``revenue_minor`` from payments'
  finance summary (its services).
* quality: students' reviews (``reviews``), ``rating_1`` … ``rating_5`` (their overall rating), ``tutor_reviews``
  (tutors' reviews of students), per subject of the reviewed booking.
"""
from datetime import UTC, datetime, time, timedelta

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import aliased

from app.analytics.models import ActivityDay
from app.extensions import db
from app.matching.models import MatchImpression, MatchOutcome, MatchRequestLog
from app.matching.services import ARMS
from app.messaging.models import Message
from app.payments import services as payments
from app.reviews.models import Review
from app.scheduling.models import Booking
from app.users.models import User

COLUMNS = ["day", "metric", "subject", "currency", "value"]
INSTANT_SECONDS = 1  # a booking confirmed within this of its creation was an instant booking, not an acceptance


def instant(day):
    return datetime.combine(day, time(), tzinfo=UTC)


def _days(series):
    return pd.to_datetime(series, utc=True).dt.date


def _count(frame, metric, by=("subject",), value=None):
    """Rows ``metric`` per day (and ``by``): counts, or sums of column ``value``."""
    if frame.empty:
        return pd.DataFrame(columns=COLUMNS)
    keys = ["day", *by]
    grouped = frame.groupby(keys)[value].sum() if value else frame.groupby(keys).size()
    out = grouped.rename("value").reset_index()
    out["metric"] = metric
    for column, default in (("subject", ""), ("currency", "")):
        if column not in out:
            out[column] = default
    return out[COLUMNS]


def _frame(statement, columns):
    return pd.DataFrame(db.session.execute(statement).all(), columns=columns)


def engagement(first, last):
    start, end = instant(first), instant(last + timedelta(days=1))
    users = _frame(sa.select(User.created_at).where(User.created_at >= start, User.created_at < end), ["at"])
    users["day"] = _days(users["at"])
    messages = _frame(sa.select(Message.sender_id, Message.created_at)
                      .where(Message.created_at >= start, Message.created_at < end, Message.kind != "booking"),
                      ["user_id", "at"])
    messages["day"] = _days(messages["at"])
    parts = [
        _count(users, "signups", by=()),
        _activity_counts(first, last),
        _weekly(first, last),
        _count(messages, "chat_messages", by=()),
        _count(messages.drop_duplicates(["user_id", "day"]), "chat_senders", by=()),
    ]
    return _concat(parts)


def _activity_counts(first, last):
    """active_users (distinct users) and logins (users who signed in) per day, counted in SQL."""
    a = ActivityDay
    statement = (sa.select(a.day, sa.func.count(sa.distinct(a.user_id)),
                           sa.func.count(sa.case((a.kind == "login", 1))))
                 .where(a.day >= first, a.day <= last).group_by(a.day))
    rows = []
    for day, active, logins in db.session.execute(statement):
        rows += [(day, "active_users", "", "", active), (day, "logins", "", "", logins)]
    return pd.DataFrame(rows, columns=COLUMNS)


def _weekly(first, last):
    """weekly_active_users: distinct users over the 7 days ending each day (one COUNT DISTINCT per day)."""
    a, rows, day = ActivityDay, [], first
    while day <= last:
        count = db.session.scalar(sa.select(sa.func.count(sa.distinct(a.user_id)))
                                  .where(a.day > day - timedelta(days=7), a.day <= day))
        if count:
            rows.append((day, "weekly_active_users", "", "", count))
        day += timedelta(days=1)
    return pd.DataFrame(rows, columns=COLUMNS)


def _bookings(start, end):
    b = Booking
    touched = sa.or_(*(sa.and_(column >= start, column < end)
                       for column in (b.created_at, b.confirmed_at, b.completed_at, b.cancelled_at, b.updated_at)))
    frame = _frame(sa.select(b.student_id, b.subject, b.state, b.created_at, b.confirmed_at, b.completed_at,
                             b.cancelled_at, b.updated_at).where(touched),
                   ["student_id", "subject", "state", "created_at", "confirmed_at", "completed_at", "cancelled_at",
                    "updated_at"])
    for column in ("created_at", "confirmed_at", "completed_at", "cancelled_at", "updated_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def _on(frame, column, start, end, extra=None):
    chosen = (frame[column] >= start) & (frame[column] < end)
    if extra is not None:
        chosen &= extra
    picked = frame[chosen].copy()
    picked["day"] = picked[column].dt.date
    return picked


def _first_bookings(start, end):
    """Students' first bookings created in [start, end): subject, created_at, signup time. A booking is a first
    when the student has no booking created before it (probed through ``ix_bookings_student_start``)."""
    b, earlier = Booking, aliased(Booking)
    sooner = sa.and_(earlier.student_id == b.student_id,
                     sa.or_(earlier.created_at < b.created_at,
                            sa.and_(earlier.created_at == b.created_at, earlier.id < b.id)))
    statement = (sa.select(b.subject, b.created_at, User.created_at)
                 .join(User, User.id == b.student_id)
                 .where(b.created_at >= start, b.created_at < end, ~sa.exists().where(sooner)))
    frame = _frame(statement, ["subject", "created_at", "signed_up_at"])
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    frame["day"] = frame["created_at"].dt.date
    waited = frame["created_at"] - pd.to_datetime(frame["signed_up_at"], utc=True)
    frame["seconds"] = waited.dt.total_seconds().clip(lower=0).astype("int64") if not frame.empty else 0
    return frame


def bookings(first, last):
    start, end = instant(first), instant(last + timedelta(days=1))
    frame = _bookings(start, end)
    confirmed = _on(frame, "confirmed_at", start, end)
    waited = (confirmed["confirmed_at"] - confirmed["created_at"]).dt.total_seconds()
    accepted = confirmed[waited > INSTANT_SECONDS].copy()
    accepted["seconds"] = waited[waited > INSTANT_SECONDS].astype("int64")
    firsts = _first_bookings(start, end)
    parts = [
        _count(_on(frame, "created_at", start, end), "requested"),
        _count(confirmed, "confirmed"),
        _count(_on(frame, "completed_at", start, end), "completed"),
        _count(firsts, "first_bookings"),
        _count(firsts, "first_booking_seconds", value="seconds"),
        _count(accepted, "accepted"),
        _count(accepted, "response_seconds", value="seconds"),
        _count(_on(frame, "updated_at", start, end, frame["state"] == "rejected"), "rejected"),
        _count(_on(frame, "updated_at", start, end, frame["state"] == "expired"), "expired"),
        _count(_on(frame, "cancelled_at", start, end), "cancelled"),
        _count(_on(frame, "updated_at", start, end, frame["state"] == "no_show"), "no_shows"),
    ]
    return _concat(parts)


def matches(first, last):
    """The match funnel: tutors shown per response (matching's log), and the bookings created or completed in the
    window that matching attributed to a tutor shown (their ``booked`` outcome), by the match's subject; in all
    and per arm of the response."""
    start, end = instant(first), instant(last + timedelta(days=1))
    r, subject = MatchRequestLog, MatchRequestLog.features["subject"].as_string()
    shown = _frame(sa.select(r.created_at, subject, r.arm, sa.func.count())
                   .join(MatchImpression, MatchImpression.request_id == r.id)
                   .where(r.created_at >= start, r.created_at < end)
                   .group_by(r.id, r.created_at, subject, r.arm), ["at", "subject", "arm", "tutors"])
    shown["day"] = _days(shown["at"])
    b = Booking
    in_window = sa.or_(sa.and_(b.created_at >= start, b.created_at < end),
                       sa.and_(b.completed_at >= start, b.completed_at < end))
    booked = _frame(sa.select(b.id, b.created_at, b.completed_at, subject, r.arm)
                    .join(MatchOutcome, sa.and_(MatchOutcome.booking_id == b.id, MatchOutcome.kind == "booked"))
                    .join(r, r.id == MatchOutcome.request_id).where(in_window),
                    ["id", "created_at", "completed_at", "subject", "arm"]).drop_duplicates("id")
    for column in ("created_at", "completed_at"):
        booked[column] = pd.to_datetime(booked[column], utc=True)
    requested, completed = _on(booked, "created_at", start, end), _on(booked, "completed_at", start, end)
    parts = [_count(shown, "shown", value="tutors"), _count(requested, "match_requested"),
             _count(completed, "match_completed")]
    for arm in ARMS:
        parts += [_count(shown[shown["arm"] == arm], f"shown_{arm}", value="tutors"),
                  _count(requested[requested["arm"] == arm], f"match_requested_{arm}"),
                  _count(completed[completed["arm"] == arm], f"match_completed_{arm}")]
    return _concat(parts)


def money(first, last):
    start, end = instant(first), instant(last + timedelta(days=1))
    report = payments.finance_summary(since=start, until=end, group="day")
    periods = report.periods
    if periods.empty:
        return pd.DataFrame(columns=COLUMNS)
    rows = []
    for record in periods.to_dict("records"):
        day = pd.Timestamp(record["period_start"]).tz_convert("UTC").date()
        for figure in ("gmv_minor", "revenue_minor"):
            if record[figure]:
                rows.append((day, figure, "", record["currency"], int(record[figure])))
    return pd.DataFrame(rows, columns=COLUMNS)


def reviews(first, last):
    start, end = instant(first), instant(last + timedelta(days=1))
    statement = (sa.select(Review.author_role, Review.overall, Review.created_at, Booking.subject)
                 .join(Booking, Booking.id == Review.booking_id)
                 .where(Review.created_at >= start, Review.created_at < end))
    frame = _frame(statement, ["author_role", "overall", "created_at", "subject"])
    frame["day"] = _days(frame["created_at"])
    students = frame[frame["author_role"] == "student"]
    parts = [_count(students, "reviews"), _count(frame[frame["author_role"] == "tutor"], "tutor_reviews")]
    for rating in range(1, 6):
        parts.append(_count(students[students["overall"] == rating], f"rating_{rating}"))
    return _concat(parts)


def _concat(parts):
    parts = [part for part in parts if not part.empty]
    if not parts:
        return pd.DataFrame(columns=COLUMNS)
    frame = pd.concat(parts, ignore_index=True)
    frame["value"] = frame["value"].astype("int64")
    return frame


SOURCES = {"engagement": engagement, "bookings": bookings, "matches": matches, "money": money, "reviews": reviews}


def day_figures(first, last, sources=tuple(SOURCES)):
    """The figures of the UTC days ``first`` … ``last`` (dates, inclusive), from the given sources (default:
    all of them)."""
    return _concat([SOURCES[source](first, last) for source in sources])
