"""Incremental rating aggregates, kept in the same transaction as every release, edit, hide and restore.

``tutor_rating_stats`` holds running sums per tutor and ``tutor_rating_monthly`` per tutor and month; no
request scans the reviews table. ``sync(review)`` moves a review in or out of the totals exactly once,
guarded by ``review.counted``. After each change the tutor's profile rating columns are rewritten, in the same
transaction, through ``app.tutors.services`` (tutors own that table):

* ``rating_avg``   = sum(overall) / n
* ``rating_count`` = n
* ``rating_bayes`` = (C * m + sum(overall)) / (C + n)

with C = ``REVIEWS_BAYES_PRIOR_WEIGHT`` and m = ``REVIEWS_BAYES_PRIOR_MEAN`` when configured, else the platform
mean of counted overall ratings (sum over all tutors' stats), else ``REVIEWS_BAYES_FALLBACK_MEAN``. The platform
mean is one SUM over the stats table; reads take it from a Redis cache (``PRIOR_CACHE_KEY``, dropped on every
aggregate change, at most ``PRIOR_CACHE_SECONDS`` old), writes recompute it. It moves slowly;
``refresh_all_bayesian`` (a periodic job) rewrites every profile with the current prior in one statement.
With Redis unreachable, reads compute the mean from the database (public pages keep working).
Behind ``app.reviews.services``; nothing here commits.
"""
import logging
from datetime import date

import sqlalchemy as sa
from flask import current_app

from app.common.errors import REDIS_UNAVAILABLE
from app.extensions import db, redis_client
from app.reviews.models import STUDENT_DIMENSIONS, TutorRatingMonthly, TutorRatingStats
from app.tutors import services as tutors

PRIOR_CACHE_KEY = "reviews:platform-mean"
PRIOR_CACHE_SECONDS = 300

log = logging.getLogger(__name__)


def month_of(moment):
    return date(moment.year, moment.month, 1)


def sync(review):
    """Bring the aggregates in line with whether ``review`` should count now."""
    if _count_or_uncount(review):
        refresh_profile(review.tutor_id)


def sync_many(reviews):
    """``sync`` for a batch (the demo seed): the totals move per review, each touched profile is rewritten
    once, and every Bayesian average once."""
    touched = sorted({review.tutor_id for review in reviews if _count_or_uncount(review)})
    for tutor_id in touched:
        _write_profile(tutor_id)
    if touched:
        refresh_all_bayesian()


def _count_or_uncount(review):
    if review.counted and not review.should_count:
        _apply(review, -1)
        review.counted = False
    elif not review.counted and review.should_count:
        _apply(review, +1)
        review.counted = True
    else:
        return False
    return True


def uncount(review):
    """Take a counted review out of the totals (before an edit changes its numbers); ``sync`` puts it back."""
    if review.counted:
        _apply(review, -1)
        review.counted = False


def _stats_row(tutor_id):
    stats = db.session.get(TutorRatingStats, tutor_id, with_for_update=True)
    if stats is None:
        stats = TutorRatingStats(tutor_id=tutor_id, count=0, sum_clarity=0, sum_knowledge=0, sum_responsiveness=0,
                                 sum_punctuality=0, sum_overall=0, overall_1=0, overall_2=0, overall_3=0,
                                 overall_4=0, overall_5=0, recommend_count=0)
        db.session.add(stats)
    return stats


def _apply(review, sign):
    stats = _stats_row(review.tutor_id)
    stats.count += sign
    for name in STUDENT_DIMENSIONS:
        column = f"sum_{name}"
        setattr(stats, column, getattr(stats, column) + sign * getattr(review, name))
    bucket = f"overall_{review.overall}"
    setattr(stats, bucket, getattr(stats, bucket) + sign)
    if review.would_recommend:
        stats.recommend_count += sign
    month = month_of(review.created_at)
    monthly = db.session.get(TutorRatingMonthly, (review.tutor_id, month), with_for_update=True)
    if monthly is None:
        monthly = TutorRatingMonthly(tutor_id=review.tutor_id, month=month, count=0, sum_overall=0)
        db.session.add(monthly)
    monthly.count += sign
    monthly.sum_overall += sign * review.overall
    db.session.flush()
    redis_client.client.delete(PRIOR_CACHE_KEY)


def prior(cached=False):
    """(C, m) of the Bayesian average; ``cached`` lets a read use the platform mean cached in Redis."""
    weight = current_app.config["REVIEWS_BAYES_PRIOR_WEIGHT"]
    mean = current_app.config.get("REVIEWS_BAYES_PRIOR_MEAN")
    if mean is None:
        mean = platform_mean(cached)
    return weight, float(mean)


def platform_mean(cached=False):
    if cached:
        try:
            value = redis_client.client.get(PRIOR_CACHE_KEY)
        except REDIS_UNAVAILABLE:
            log.warning("Prior cache unavailable; computing the platform mean", exc_info=True)
            return _platform_mean_from_database()
        if value is not None:
            return float(value)
    mean = _platform_mean_from_database()
    if cached:
        redis_client.client.set(PRIOR_CACHE_KEY, repr(mean), ex=PRIOR_CACHE_SECONDS)
    return mean


def _platform_mean_from_database():
    total, count = db.session.execute(
        sa.select(sa.func.sum(TutorRatingStats.sum_overall), sa.func.sum(TutorRatingStats.count))
    ).one()
    return float((total / count) if count else current_app.config["REVIEWS_BAYES_FALLBACK_MEAN"])


def bayesian(sum_overall, count, weight, mean):
    if not count:
        return None
    return (weight * mean + sum_overall) / (weight + count)


def refresh_profile(tutor_id):
    """Write the tutor profile's rating columns from the stats row (when the tutor has a profile), then every
    rated profile's Bayesian average with the same prior: a change moves the platform mean, and two tutors with
    the same reviews must rank equal (one prior for all, not the one of the day each was last written)."""
    _write_profile(tutor_id)
    refresh_all_bayesian()


def _write_profile(tutor_id):
    stats = db.session.get(TutorRatingStats, tutor_id)
    count = stats.count if stats else 0
    total = stats.sum_overall if stats else 0
    weight, mean = prior()
    tutors.set_rating_summary(tutor_id, count=count, average=(total / count) if count else None,
                              bayes=bayesian(total, count, weight, mean))


def refresh_all_bayesian():
    """Rewrite every rated profile's Bayesian average with the current prior; returns rows updated."""
    weight, mean = prior()
    stats = TutorRatingStats
    ratings = sa.select(
        stats.tutor_id.label("tutor_id"),
        ((weight * mean + stats.sum_overall) / (weight + stats.count)).label("rating_bayes"),
    ).where(stats.count > 0)
    return tutors.set_bayesian_ratings(ratings)


def summary(tutor_id):
    """Count, averages, distribution, recommend rate and monthly trend from the aggregates; ``average``,
    ``bayesian`` and ``count`` are the profile's rating columns, the very numbers search cards show and rank by
    (one source: they are written from these aggregates in the same transaction)."""
    stats = db.session.get(TutorRatingStats, tutor_id)
    count = stats.count if stats else 0
    weight, mean = prior(cached=True)
    shown = tutors.rating_columns(tutor_id)
    averages = {name: (round(getattr(stats, f"sum_{name}") / count, 4) if count else None)
                for name in STUDENT_DIMENSIONS}
    months = db.session.scalars(
        sa.select(TutorRatingMonthly)
        .where(TutorRatingMonthly.tutor_id == tutor_id, TutorRatingMonthly.count > 0)
        .order_by(TutorRatingMonthly.month)
    ).all()
    if shown is None:  # a reviewed account without a tutor profile: computed as the profile would hold it
        shown = {"average": (stats.sum_overall / count) if count else None,
                 "bayesian": bayesian(stats.sum_overall, count, weight, mean) if count else None}
    return {
        "tutor_id": tutor_id,
        "count": count,
        "average": shown["average"],
        "averages": averages,
        "bayesian": shown["bayesian"],
        "prior": {"weight": weight, "mean": round(mean, 4)},
        "distribution": {str(star): (getattr(stats, f"overall_{star}") if stats else 0) for star in range(1, 6)},
        "recommend_rate": round(stats.recommend_count / count, 4) if count else None,
        "trend": [{"month": row.month.strftime("%Y-%m"), "count": row.count,
                   "average": round(row.sum_overall / row.count, 4)} for row in months],
    }
