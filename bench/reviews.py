"""Bench: GET /tutors?sort=rating with 100k tutors and 1M released reviews in PostgreSQL.

Seeds users, tutor profiles, completed bookings and one student review per booking with COPY, then fills
``tutor_rating_stats``, ``tutor_rating_monthly`` and the profiles' rating columns with set-based SQL that
follows the same rules as the incremental code (``app/reviews/aggregation.py``), checks a sample of tutors
against a recount, and times the search in-process (Flask test client) — target p95 < 25 ms.

WARNING: it empties the target database's tables. Database: BENCH_DATABASE_URL (default ``tutorhub_reviews``,
which must exist). Sizes: BENCH_TUTORS (100000), BENCH_STUDENTS (50000), BENCH_REVIEWS (1000000), BENCH_REQUESTS
(300); BENCH_SKIP_SEED=1 times an already seeded database again.
Run: ``.venv/bin/python bench/reviews.py``.

Besides the full request it times the one statement GET /tutors runs for ids and total (the sorted page, served
by ``ix_tutor_profiles_rank`` on ``rating_bayes``, which this domain maintains, and the X-Pagination count capped
at 1,000, see app/common/pagination.py), and, for comparison with that cap, an exact COUNT(*) of every listed
tutor. Recorded figures: bench/README.md.
"""
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg
import sqlalchemy as sa

from config import TestingConfig, normalize_database_url

DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/tutorhub_reviews")
TUTORS = int(os.environ.get("BENCH_TUTORS", "100000"))
STUDENTS = int(os.environ.get("BENCH_STUDENTS", "50000"))
REVIEWS = int(os.environ.get("BENCH_REVIEWS", "1000000"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "300"))
NOW = datetime.now(UTC).replace(microsecond=0)
# Any valid hash: nobody logs in during the bench.
PASSWORD_HASH = "$argon2id$v=19$m=8,t=1,p=1$YmVuY2hzYWx0$YmVuY2hoYXNo"
SEEDED_TABLES = ("users", "user_roles", "tutor_profiles", "bookings", "reviews", "tutor_rating_stats",
                 "tutor_rating_monthly")


class BenchConfig(TestingConfig):
    SQLALCHEMY_DATABASE_URI = normalize_database_url(DATABASE_URL)
    RATELIMIT_ENABLED = False


def libpq_url(url):
    return url.replace("postgresql+psycopg://", "postgresql://")


def timed(label):
    class Timer:
        def __enter__(self):
            self.start = time.perf_counter()

        def __exit__(self, *_exc):
            print(f"  {label}: {time.perf_counter() - self.start:.1f} s", flush=True)

    return Timer()


def copy_rows(cursor, table, columns, rows):
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def user_rows():
    for user_id in range(1, TUTORS + STUDENTS + 1):
        kind = "tutor" if user_id <= TUTORS else "student"
        yield (user_id, f"{kind}{user_id}@bench.example", PASSWORD_HASH, f"{kind.title()} {user_id}", "",
               "UTC", "en", "[]", "{}", "{}", True, 0, False, NOW, NOW, NOW)


def role_rows():
    for user_id in range(1, TUTORS + STUDENTS + 1):
        yield (user_id, "tutor" if user_id <= TUTORS else "student")


def profile_rows(rng):
    for tutor_id in range(1, TUTORS + 1):
        yield (tutor_id, f"Tutor {tutor_id} teaches maths", "Patient tutor.", f"Tutor {tutor_id}",
               rng.randrange(1000, 10000, 500), "USD", '["en"]', "[]", "online", rng.randint(0, 20), False,
               rng.random() < 0.3, 0, NOW, NOW)


def tutor_quality(rng):
    """Each tutor's mean rating: most good, some poor."""
    return [min(5.0, max(1.0, rng.gauss(4.2, 0.6))) for _ in range(TUTORS + 1)]


def booking_and_review_rows(rng, quality):
    """One completed booking and one released, visible student review per booking; a third of the tutors get
    no reviews, the rest a long-tailed share."""
    reviewed_tutors = list(range(1, int(TUTORS * 2 / 3) + 1))
    weights = [1.0 / (rank ** 0.6) for rank in range(1, len(reviewed_tutors) + 1)]
    chosen = rng.choices(reviewed_tutors, weights=weights, k=REVIEWS)
    bookings, reviews = [], []
    for booking_id, tutor_id in enumerate(chosen, start=1):
        student_id = TUTORS + 1 + rng.randrange(STUDENTS)
        start_at = NOW - timedelta(days=40 + rng.randrange(330), minutes=30 * rng.randrange(40))
        end_at = start_at + timedelta(hours=1)
        bookings.append((booking_id, tutor_id, student_id, "maths", "", "completed", start_at, end_at, 60,
                         start_at, end_at, 0, False, end_at, NOW, NOW))
        mean = quality[tutor_id]

        def rate(mean=mean):
            return min(5, max(1, round(rng.gauss(mean, 0.7))))

        overall = rate()
        created_at = end_at + timedelta(hours=rng.randrange(1, 72))
        reviews.append((booking_id, booking_id, student_id, "student", tutor_id, student_id, rate(), rate(),
                        rate(), rate(), overall, "", overall >= 4, end_at + timedelta(days=30),
                        created_at + timedelta(hours=1), "visible", False, False, 0, 0, True, created_at,
                        created_at))
    return bookings, reviews


BOOKING_COLUMNS = ("id", "tutor_id", "student_id", "subject", "note", "state", "start_at", "end_at",
                   "duration_minutes", "tutor_range_start", "tutor_range_end", "sequence", "is_repeat",
                   "completed_at", "created_at", "updated_at")
REVIEW_COLUMNS = ("id", "booking_id", "author_id", "author_role", "tutor_id", "student_id", "clarity", "knowledge",
                  "responsiveness", "punctuality", "overall", "comment", "would_recommend", "window_closes_at",
                  "released_at", "status", "queued", "blocklisted", "flag_count", "helpful_count", "counted",
                  "created_at", "updated_at")

FILL_STATS = """
INSERT INTO tutor_rating_stats (tutor_id, count, sum_clarity, sum_knowledge, sum_responsiveness, sum_punctuality,
    sum_overall, overall_1, overall_2, overall_3, overall_4, overall_5, recommend_count, updated_at)
SELECT tutor_id, count(*), sum(clarity), sum(knowledge), sum(responsiveness), sum(punctuality), sum(overall),
       count(*) FILTER (WHERE overall = 1), count(*) FILTER (WHERE overall = 2), count(*) FILTER (WHERE overall = 3),
       count(*) FILTER (WHERE overall = 4), count(*) FILTER (WHERE overall = 5),
       count(*) FILTER (WHERE would_recommend), now()
FROM reviews WHERE counted GROUP BY tutor_id
"""
FILL_MONTHLY = """
INSERT INTO tutor_rating_monthly (tutor_id, month, count, sum_overall)
SELECT tutor_id, date_trunc('month', created_at AT TIME ZONE 'UTC')::date, count(*), sum(overall)
FROM reviews WHERE counted GROUP BY 1, 2
"""
FILL_PROFILES = """
UPDATE tutor_profiles p SET rating_count = s.count, rating_avg = s.sum_overall::float / s.count,
    rating_bayes = (%(weight)s * %(mean)s + s.sum_overall) / (%(weight)s + s.count)
FROM tutor_rating_stats s WHERE s.tutor_id = p.user_id AND s.count > 0
"""


def seed():
    rng = random.Random(20261123)
    print(f"Seeding {TUTORS} tutors, {STUDENTS} students, {REVIEWS} reviews into {DATABASE_URL}", flush=True)
    with psycopg.connect(libpq_url(DATABASE_URL)) as connection, connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(SEEDED_TABLES)} RESTART IDENTITY CASCADE")
        with timed("users + roles"):
            copy_rows(cursor, "users", ("id", "email", "password_hash", "full_name", "bio", "timezone", "locale",
                                        "learning_styles", "preferences", "social_links", "is_active",
                                        "token_version", "mfa_enabled", "email_confirmed_at", "created_at",
                                        "updated_at"), user_rows())
            copy_rows(cursor, "user_roles", ("user_id", "role"), role_rows())
        with timed("tutor profiles"):
            copy_rows(cursor, "tutor_profiles", ("user_id", "headline", "bio", "search_name", "rate_cents",
                                                 "currency", "languages", "teaching_styles", "mode",
                                                 "years_experience", "offers_trial", "verified", "rating_count",
                                                 "created_at", "updated_at"), profile_rows(rng))
        with timed("generate bookings + reviews"):
            bookings, reviews = booking_and_review_rows(rng, tutor_quality(rng))
        with timed("COPY bookings"):
            copy_rows(cursor, "bookings", BOOKING_COLUMNS, bookings)
        with timed("COPY reviews"):
            copy_rows(cursor, "reviews", REVIEW_COLUMNS, reviews)
        del bookings, reviews
        with timed("stats tables + profile ratings"):
            cursor.execute(FILL_STATS)
            cursor.execute(FILL_MONTHLY)
            weight = BenchConfig.REVIEWS_BAYES_PRIOR_WEIGHT
            mean = BenchConfig.REVIEWS_BAYES_PRIOR_MEAN
            if mean is None:
                total, count = cursor.execute("SELECT sum(sum_overall), sum(count) FROM tutor_rating_stats").fetchone()
                mean = float(total) / float(count)
            cursor.execute(FILL_PROFILES, {"weight": float(weight), "mean": float(mean)})
            for table in ("users", "bookings", "reviews"):
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        connection.commit()
        connection.autocommit = True
        with timed("VACUUM ANALYZE"):
            for table in SEEDED_TABLES:
                cursor.execute(f"VACUUM ANALYZE {table}")


def check_consistency(app):
    """A sample of tutors: the summary from the aggregates equals a recount of their reviews."""
    from app.extensions import db
    from app.reviews import aggregation
    from app.reviews.models import Review

    with app.app_context():
        for tutor_id in (1, 2, 1000, TUTORS // 2, TUTORS - 1):
            summary = aggregation.summary(tutor_id)
            count, total = db.session.execute(
                sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(Review.overall), 0))
                .where(Review.tutor_id == tutor_id, Review.counted.is_(True))).one()
            assert summary["count"] == count, (tutor_id, summary["count"], count)
            if count:
                assert abs(summary["averages"]["overall"] - total / count) < 1e-3
        print("  aggregates match a recount for 5 sampled tutors")


def percentile(samples, fraction):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def time_search(app, label, make_url):
    client = app.test_client()
    for _ in range(20):
        assert client.get(make_url()).status_code == 200
    samples = []
    for _ in range(REQUESTS):
        url = make_url()
        start = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.get_data(as_text=True)
    print(f"  {label}: p50 {statistics.median(samples):.1f} ms, p95 {percentile(samples, 0.95):.1f} ms, "
          f"max {max(samples):.1f} ms ({REQUESTS} requests)", flush=True)
    return percentile(samples, 0.95)


def time_queries(app):
    """The statement GET /tutors?sort=rating runs (page + count capped at 1,000, in one), and an exact COUNT(*)."""
    from app.common.pagination import paginate_keys
    from app.extensions import db
    from app.matching import routes, search

    rng = random.Random(11)
    with app.app_context():
        exact_count = sa.select(sa.func.count()).select_from(search.search_query({"sort": "rating"})
                                                             .order_by(None).subquery())
        for label, run in (
            ("page + capped count (one statement, pages 1-50)",
             lambda: paginate_keys(search.search_page_statement({"sort": "rating"}, 20 * rng.randint(0, 49), 20,
                                                                routes.SEARCH_COUNT_CAP))),
            ("exact COUNT(*) of every listed tutor (no longer run)", lambda: db.session.scalar(exact_count)),
        ):
            samples = []
            for index in range(REQUESTS // 3 + 10):
                start = time.perf_counter()
                run()
                if index >= 10:
                    samples.append((time.perf_counter() - start) * 1000)
                db.session.rollback()
            print(f"  {label}: p50 {statistics.median(samples):.1f} ms, p95 {percentile(samples, 0.95):.1f} ms")
        db.session.remove()


def main():
    started = time.perf_counter()
    from flask_migrate import upgrade

    from app import create_app

    app = create_app(BenchConfig)
    with app.app_context():
        upgrade()
    if os.environ.get("BENCH_SKIP_SEED") != "1":
        seed()
    check_consistency(app)
    rng = random.Random(7)
    print("Timing GET /api/v1/tutors in-process:")
    p95 = time_search(app, "sort=rating, first pages",
                      lambda: f"/api/v1/tutors?sort=rating&page={rng.randint(1, 5)}&page_size=20")
    time_search(app, "sort=rating, pages 1-50",
                lambda: f"/api/v1/tutors?sort=rating&page={rng.randint(1, 50)}&page_size=20")
    time_search(app, "sort=rating&min_rating=4.5",
                lambda: f"/api/v1/tutors?sort=rating&min_rating=4.5&page={rng.randint(1, 5)}&page_size=20")
    time_queries(app)
    with app.app_context():
        from app.extensions import db
        tutor_id = 1
        client = app.test_client()
        samples = []
        for _ in range(100):
            start = time.perf_counter()
            assert client.get(f"/api/v1/tutors/{tutor_id}/rating-summary").status_code == 200
            samples.append((time.perf_counter() - start) * 1000)
        print(f"  GET /tutors/1/rating-summary: p50 {statistics.median(samples):.1f} ms, "
              f"p95 {percentile(samples, 0.95):.1f} ms")
        db.session.remove()
    print(f"sort=rating p95 {p95:.1f} ms vs target 25 ms: {'OK' if p95 < 25 else 'ABOVE TARGET'}")
    print(f"total bench time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
