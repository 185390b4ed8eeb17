"""Demo analytics: a year of synthetic daily figures with seasonality, the last 30 days rolled up from the demo's
real bookings, reviews and messages (and the match responses of matching's demo log, seeded before), and recent
activity of every demo account.

Days 31 … 365 before today get synthetic rollup rows (a school-year seasonality: busy in autumn and spring, a
summer dip and a December lull; quieter weekends; growth over the year), drawn from a random generator seeded by
the day, so a second run writes the same rows. The last 30 days are rolled up from the demo data itself
(``services.rollup``), and today is computed live, like in production. Written in one bulk insert.
"""
import math
import random
from datetime import timedelta

import sqlalchemy as sa

from app.analytics import services
from app.analytics.models import DailyMetric, RollupDay
from app.common import time as clock
from app.extensions import db

SYNTHETIC_DAYS = 365
REAL_DAYS = 30
RATING_SHARES = (0.02, 0.04, 0.12, 0.34, 0.48)
CURRENCY = "USD"
SESSION_PRICE_MINOR = 4500
COMMISSION = 0.15
LEARNED_SHARE = 0.5  # the demo's share of match responses served by the learned arm
LEARNED_LIFT = 1.15  # its odds of a booking per tutor shown, relative to the fixed arm's


def _season(day):
    """Demand relative to an average day: school-year peaks, summer dip, December lull, weekends."""
    year = 1 + 0.3 * math.cos(2 * math.pi * (day.timetuple().tm_yday - 80) / 182.5)  # peaks ~March and ~October
    summer = 0.55 if day.month in (7, 8) else 1.0
    december = 0.75 if day.month == 12 and day.day > 18 else 1.0
    weekend = 0.65 if day.weekday() >= 5 else 1.0
    return year * summer * december * weekend


def _draw(rng, mean):
    return max(0, int(round(rng.gauss(mean, max(mean, 1) ** 0.5))))


def _subject_rows(rng, day, subject, weight, factor):
    requested = _draw(rng, 6 * weight * factor)
    confirmed = min(requested, _draw(rng, 0.85 * requested))
    accepted = min(confirmed, _draw(rng, 0.6 * requested))
    completed = min(confirmed, _draw(rng, 0.75 * requested))
    firsts = min(requested, _draw(rng, 0.3 * requested))
    reviews = min(completed, _draw(rng, 0.55 * completed))
    figures = {
        "requested": requested, "confirmed": confirmed, "completed": completed, "accepted": accepted,
        "first_bookings": firsts, "first_booking_seconds": sum(rng.randint(6, 120) * 3600 for _ in range(firsts)),
        "response_seconds": sum(rng.randint(5, 240) * 60 for _ in range(accepted)),
        "rejected": _draw(rng, 0.08 * requested), "expired": _draw(rng, 0.05 * requested),
        "cancelled": _draw(rng, 0.08 * requested), "no_shows": _draw(rng, 0.03 * requested),
        "reviews": reviews, "tutor_reviews": _draw(rng, 0.3 * completed),
    }
    ratings = rng.choices(range(1, 6), weights=RATING_SHARES, k=reviews)
    figures.update({f"rating_{n}": ratings.count(n) for n in range(1, 6)})
    # the match funnel: most requests follow a match response, each showing about ten tutors
    from_match = min(requested, _draw(rng, 0.7 * requested))
    figures.update({"match_requested": from_match, "shown": _draw(rng, 12 * from_match + 20 * weight * factor),
                    "match_completed": min(completed, from_match, _draw(rng, 0.75 * from_match))})
    figures.update(_arm_split(random.Random(f"{day.isoformat()}/{subject}/arms"), figures))
    return [(day, metric, subject, "", value) for metric, value in figures.items() if value]


def _arm_split(rng, figures):
    """The funnel split between the A/B arms (about half the responses each; the learned arm converting a little
    better), the two arms adding up to the funnel. Its own generator, so the other figures stay as they were."""
    shown = figures["shown"]
    learned_shown = sum(rng.random() < LEARNED_SHARE for _ in range(shown))
    requested = figures["match_requested"]
    chance = LEARNED_SHARE * LEARNED_LIFT / (LEARNED_SHARE * LEARNED_LIFT + 1 - LEARNED_SHARE)
    learned_requested = sum(rng.random() < chance for _ in range(requested)) if learned_shown else 0
    if learned_shown == shown:
        learned_requested = requested
    completed = figures["match_completed"]
    drawn = sum(rng.random() < chance for _ in range(completed))
    # neither arm completes more than it requested: the fixed arm's completions fit its requests too
    learned_completed = max(completed - (requested - learned_requested), min(learned_requested, drawn))
    learned = {"shown": learned_shown, "match_requested": learned_requested, "match_completed": learned_completed}
    split = {f"{figure}_learned": value for figure, value in learned.items()}
    split.update({f"{figure}_fixed": figures[figure] - value for figure, value in learned.items()})
    return split


def _day_rows(day, subjects, age):
    rng = random.Random(day.toordinal())
    factor = _season(day) * (0.55 + 0.45 * (1 - age / SYNTHETIC_DAYS))
    active = _draw(rng, 140 * factor)
    rows = [(day, "signups", "", "", _draw(rng, 9 * factor)), (day, "active_users", "", "", active),
            (day, "weekly_active_users", "", "", int(active * 3.1)), (day, "logins", "", "", int(active * 0.7)),
            (day, "chat_messages", "", "", _draw(rng, 5 * active)),
            (day, "chat_senders", "", "", int(active * 0.45))]
    for index, subject in enumerate(subjects):
        rows += _subject_rows(rng, day, subject, 1.6 / (1 + index * 0.35), factor)
    completed = sum(value for _day, metric, _s, _c, value in rows if metric == "completed")
    requested = sum(value for _day, metric, _s, _c, value in rows if metric == "requested")
    rows += [(day, "gmv_minor", "", CURRENCY, requested * SESSION_PRICE_MINOR),
             (day, "revenue_minor", "", CURRENCY, int(completed * SESSION_PRICE_MINOR * COMMISSION))]
    return [row for row in rows if row[4]]


def seed_analytics(people, subjects, now=None):
    """The demo's analytics (see the module docstring); the caller's unit of work commits."""
    today = (now or clock.utcnow()).date()
    first, last_synthetic = today - timedelta(days=SYNTHETIC_DAYS), today - timedelta(days=REAL_DAYS + 1)
    rows = []
    day = first
    while day <= last_synthetic:
        rows += _day_rows(day, subjects, (today - day).days)
        day += timedelta(days=1)
    db.session.execute(sa.delete(DailyMetric).where(DailyMetric.day >= first, DailyMetric.day <= last_synthetic))
    db.session.execute(sa.delete(RollupDay).where(RollupDay.day >= first, RollupDay.day <= last_synthetic))
    keys = ("day", "metric", "subject", "currency", "value")
    db.session.execute(sa.insert(DailyMetric), [dict(zip(keys, row, strict=True)) for row in rows])
    stamp = clock.utcnow()
    db.session.execute(sa.insert(RollupDay), [{"day": first + timedelta(days=n), "rolled_up_at": stamp}
                                              for n in range((last_synthetic - first).days + 1)])
    _seed_activity(people, today)
    services.rollup(today - timedelta(days=REAL_DAYS), today - timedelta(days=1), now=now)
    return len(rows)


def _seed_activity(people, today):
    """Recent sign-ins and chats of the demo accounts (deterministic per user and day)."""
    rows = []
    for user in people:
        rng = random.Random(user.id)
        for back in range(REAL_DAYS):
            day = today - timedelta(days=back)
            if rng.random() < (0.35 if day.weekday() >= 5 else 0.6):
                rows.append((user.id, day, "login", rng.randint(1, 3)))
                if rng.random() < 0.5:
                    rows.append((user.id, day, "chat", rng.randint(1, 12)))
    services.record_activity_days(rows)
