"""Feedback insights with pandas: weakest dimension vs. the platform median, 90-day trend, suggestions, and the
admin list of tutors whose ratings dropped."""
from datetime import timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa

from app.common.time import utcnow
from app.extensions import db
from app.reviews.models import STUDENT_DIMENSIONS, Review, TutorRatingStats
from app.reviews.reviews import require_tutor
from app.users.models import User

# The dimensions a tutor can work on (overall is their result, not a lever).
LEVERS = ("clarity", "knowledge", "responsiveness", "punctuality")
TREND_DAYS = 90
# Second-half average minus first-half average beyond which the trend is called improving / declining.
TREND_STEP = 0.25
TIPS = {
    "clarity": "Students rate your clarity below the platform median: summarise each explanation in one sentence "
               "and check understanding with a short question before moving on.",
    "knowledge": "Knowledge scores trail the platform median: prepare worked examples for the student's syllabus "
                 "before the session and share sources afterwards.",
    "responsiveness": "Responsiveness is below the platform median: answer booking requests and messages within a "
                      "few hours and acknowledge questions during the session.",
    "punctuality": "Punctuality is below the platform median: join a few minutes early, set a reminder and keep "
                   "buffers between sessions in your scheduling settings.",
    "declining": "Your overall rating fell over the last 90 days: read your recent reviews for a recurring point "
                 "and address it in your next sessions.",
}


def _public(stmt):
    return stmt.where(Review.author_role == "student", Review.released_at.is_not(None), Review.status == "visible")


def platform_medians():
    """Median over tutors of each tutor's average per dimension (from the incremental stats)."""
    stats = pd.read_sql(
        sa.select(TutorRatingStats.count, *[getattr(TutorRatingStats, f"sum_{name}") for name in STUDENT_DIMENSIONS])
        .where(TutorRatingStats.count > 0),
        db.session.connection(),
    )
    if stats.empty:
        return {name: None for name in STUDENT_DIMENSIONS}
    return {name: float((stats[f"sum_{name}"] / stats["count"]).median()) for name in STUDENT_DIMENSIONS}


def _trend(frame, now):
    recent = frame[frame["created_at"] >= now - timedelta(days=TREND_DAYS)]
    middle = now - timedelta(days=TREND_DAYS / 2)
    first, second = recent[recent["created_at"] < middle], recent[recent["created_at"] >= middle]
    result = {
        "days": TREND_DAYS, "count": len(recent),
        "first_half_average": round(float(first["overall"].mean()), 4) if len(first) else None,
        "second_half_average": round(float(second["overall"].mean()), 4) if len(second) else None,
        "slope_per_30_days": None, "direction": "insufficient_data",
    }
    if len(recent) >= 2:
        days = (recent["created_at"] - (now - timedelta(days=TREND_DAYS))).dt.total_seconds() / 86400
        if days.nunique() > 1:
            slope = np.polyfit(days.to_numpy(dtype=float), recent["overall"].to_numpy(dtype=float), 1)[0]
            result["slope_per_30_days"] = round(float(slope) * 30, 4)
    if len(first) and len(second):
        change = result["second_half_average"] - result["first_half_average"]
        result["direction"] = ("improving" if change >= TREND_STEP
                               else "declining" if change <= -TREND_STEP else "stable")
    return result


def feedback_insights(tutor_id, now=None):
    require_tutor(tutor_id)
    now = now or utcnow()
    frame = pd.read_sql(
        _public(sa.select(Review.created_at, *[getattr(Review, name) for name in STUDENT_DIMENSIONS])
                .where(Review.tutor_id == tutor_id)),
        db.session.connection(),
    )
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    medians = platform_medians()
    dimensions = []
    for name in STUDENT_DIMENSIONS:
        average = float(frame[name].mean()) if len(frame) else None
        median = medians[name]
        difference = (average - median) if average is not None and median is not None else None
        dimensions.append({"dimension": name, "average": _round(average), "platform_median": _round(median),
                           "difference": _round(difference)})
    levers = [item for item in dimensions if item["dimension"] in LEVERS and item["difference"] is not None]
    weakest = min(levers, key=lambda item: (item["difference"], item["average"]), default=None)
    trend = _trend(frame, now)
    suggestions = [TIPS[item["dimension"]] for item in sorted(levers, key=lambda item: item["difference"])
                   if item["difference"] < 0]
    if trend["direction"] == "declining":
        suggestions.append(TIPS["declining"])
    return {"tutor_id": tutor_id, "review_count": len(frame), "dimensions": dimensions,
            "weakest_dimension": weakest["dimension"] if weakest else None, "trend": trend,
            "suggestions": suggestions}


def _round(value):
    return None if value is None or pd.isna(value) else round(float(value), 4)


def rating_drops(threshold=0.5, days=90, now=None):
    """Tutors whose average overall rating over the last ``days`` fell by at least ``threshold`` compared with
    the ``days`` before."""
    now = now or utcnow()
    split, start = now - timedelta(days=days), now - timedelta(days=2 * days)
    recent = Review.created_at >= split
    rows = pd.read_sql(
        _public(sa.select(
            Review.tutor_id,
            sa.func.sum(sa.case((recent, Review.overall), else_=0)).label("recent_sum"),
            sa.func.sum(sa.case((recent, 1), else_=0)).label("recent_count"),
            sa.func.sum(sa.case((recent, 0), else_=Review.overall)).label("prior_sum"),
            sa.func.sum(sa.case((recent, 0), else_=1)).label("prior_count"),
        ).where(Review.created_at >= start, Review.created_at <= now).group_by(Review.tutor_id)),
        db.session.connection(),
    )
    rows = rows[(rows["recent_count"] > 0) & (rows["prior_count"] > 0)].copy()
    if rows.empty:
        return []
    rows["recent_average"] = rows["recent_sum"] / rows["recent_count"]
    rows["prior_average"] = rows["prior_sum"] / rows["prior_count"]
    rows["drop"] = rows["prior_average"] - rows["recent_average"]
    rows = rows[rows["drop"] >= threshold - 1e-9].sort_values(["drop", "tutor_id"], ascending=[False, True])
    names = dict(db.session.execute(sa.select(User.id, User.full_name)
                                    .where(User.id.in_(rows["tutor_id"].tolist()))).all())
    return [{"tutor_id": int(row.tutor_id), "full_name": names.get(int(row.tutor_id), ""),
             "recent_average": round(float(row.recent_average), 4), "recent_count": int(row.recent_count),
             "prior_average": round(float(row.prior_average), 4), "prior_count": int(row.prior_count),
             "drop": round(float(row.drop), 4)} for row in rows.itertuples()]
