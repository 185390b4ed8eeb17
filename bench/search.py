"""Bench: GET /tutors (five filter mixes) and POST /matches at 100,000 tutors, beside a bare JSON route.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/tutorhub_tutors_bench .venv/bin/python bench/search.py

Creates the database when missing, runs the migrations, seeds 100k tutors with COPY (users, roles,
profiles, subjects) and their availability (weekly hours in ten zones, settings, days off, busy blocks) once
(BENCH_RESEED=1 to redo it), then times requests in-process through the Flask test
client and prints p50/p95 in ms and requests/s. Target: p95 < 25 ms for search and matching. When the migrations
changed a reused seed, the tables are vacuumed first, as after seeding (index-only scans need the visibility map).

Each run also scores every eligible tutor for the 20 matching requests (all candidate rows read) and prints how
often the top 10 is the same (matching is exact, see app/matching/services.py: expected 20/20).

It ends with EXPLAIN (ANALYZE, BUFFERS) of mix A's page-and-capped-count statement and of the matching candidate
statement, with bind parameters as the app sends them. Recorded figures and plans: bench/README.md.
"""
import json
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config import Config, normalize_database_url

TUTORS = int(os.environ.get("BENCH_TUTORS", "100000"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "300"))
WARMUP = 30
MATCH_ARM = os.environ.get("BENCH_MATCH_ARM", "learned")
# The weights bench/match_sim.py's model learns (rounded): what the learned arm serves in this bench.
LEARNED_WEIGHTS = {"expertise": 0.08, "rating": 0.34, "price_fit": 0.19, "distance": 0.06, "style_fit": 0.33,
                   "availability": 0.0, "history": 0.0}
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/tutorhub_tutors_bench"

FIRST = ["Ana", "Ben", "Chen", "Dara", "Eli", "Fatima", "Goran", "Hana", "Ivan", "Jun", "Kofi", "Lena", "Mateo",
         "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Victor", "Wen", "Ximena", "Yusuf", "Zoe"]
LAST = ["Garcia", "Okafor", "Tanaka", "Smith", "Müller", "Rossi", "Dubois", "Kowalski", "Silva", "Nguyen", "Kim",
        "Haddad", "Ivanova", "Jensen", "Patel", "Mensah", "Costa", "Novak", "Larsen", "Moreau"]
CITIES = [("Paris", "FR", 48.8566, 2.3522), ("London", "GB", 51.5074, -0.1278), ("Madrid", "ES", 40.4168, -3.7038),
          ("Berlin", "DE", 52.52, 13.405), ("Rome", "IT", 41.9028, 12.4964), ("New York", "US", 40.7128, -74.006),
          ("Chicago", "US", 41.8781, -87.6298), ("Toronto", "CA", 43.6532, -79.3832), ("Tokyo", "JP", 35.6762, 139.6503),
          ("Sydney", "AU", -33.8688, 151.2093), ("Mumbai", "IN", 19.076, 72.8777), ("Lagos", "NG", 6.5244, 3.3792),
          ("São Paulo", "BR", -23.5505, -46.6333), ("Mexico City", "MX", 19.4326, -99.1332), ("Seoul", "KR", 37.5665, 126.978),
          ("Singapore", "SG", 1.3521, 103.8198), ("Warsaw", "PL", 52.2297, 21.0122), ("Lisbon", "PT", 38.7223, -9.1393),
          ("Stockholm", "SE", 59.3293, 18.0686), ("Cairo", "EG", 30.0444, 31.2357)]
LANGUAGES = ["en", "es", "fr", "de", "it", "pt", "ja", "zh", "hi", "ar", "pl", "ko"]
STYLES = ["visual", "auditory", "reading", "kinesthetic"]
LEVELS = ["primary", "secondary", "university", "professional"]
MODES = ["online", "online", "in_person", "both", "both"]
CURRENCIES = ["USD", "USD", "EUR", "GBP"]
try:  # a realistic vocabulary (Faker's word list), so full-text terms are as selective as in real bios
    from faker.providers.lorem.en_US import Provider as _Lorem

    VOCABULARY = sorted(set(_Lorem.word_list))
except ImportError:  # pragma: no cover
    VOCABULARY = []
WORDS = ["patient", "structured", "exam", "practice", "projects", "conversation", "fundamentals", "olympiad",
         "homework", "intuition", "rigorous", "friendly", "interview", "grammar", "essay", "lab", "proofs"]


def database_url():
    return os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)


def ensure_database(url):
    info = psycopg.conninfo.conninfo_to_dict(url)
    name = info.pop("dbname")
    with psycopg.connect(psycopg.conninfo.make_conninfo(**info, dbname="postgres"), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}")


def make_app(url):
    from app import create_app

    class BenchConfig(Config):
        SQLALCHEMY_DATABASE_URI = normalize_database_url(url)
        REDIS_URL = None
        SOCKETIO_MESSAGE_QUEUE = None
        SOCKETIO_ASYNC_MODE = "threading"
        JOBS_ASYNC = False
        RATELIMIT_ENABLED = False
        ARGON2_TIME_COST, ARGON2_MEMORY_COST, ARGON2_PARALLELISM = 1, 1024, 1
        # BENCH_MATCH_ARM=learned (default): every student in the learned arm, served a stored model (see
        # use_learned_model); fixed: the fixed weights. No exploration: the recall check compares orders.
        MATCH_LEARNED_SHARE = 1.0 if MATCH_ARM == "learned" else 0.0
        MATCH_NEW_STUDENT_REQUESTS = 0
        MATCH_EXPLORE_RATE = 0.0

    app = create_app(BenchConfig)

    @app.route("/bench/bare")
    def bare():
        from flask import jsonify

        return jsonify({"ok": True, "items": [1, 2, 3]})

    return app


def seed(url, password_hash):
    """COPY 100k tutor users, roles, profiles and 1-3 subjects each, plus one bench student."""
    rng = random.Random(2026)
    now = datetime.now(UTC)
    with psycopg.connect(url) as conn:
        conn.execute("TRUNCATE users, user_roles, tutor_profiles, tutor_subjects, tutor_documents, student_blocks "
                     "RESTART IDENTITY CASCADE")
        subjects = conn.execute("SELECT id, name FROM subjects ORDER BY id").fetchall()
        cur = conn.cursor()
        started = time.perf_counter()
        with cur.copy("COPY users (id, email, password_hash, full_name, bio, timezone, locale, learning_styles, "
                      "preferences, social_links, is_active, token_version, mfa_enabled, email_confirmed_at, "
                      "created_at, updated_at) FROM STDIN") as copy:
            for i in range(1, TUTORS + 2):
                name = f"{rng.choice(FIRST)} {rng.choice(LAST)}" if i <= TUTORS else "Bench Student"
                styles = json.dumps(rng.sample(STYLES, 2))
                copy.write_row((i, f"bench{i}@example.com", password_hash, name, "", "UTC", "en", styles, "{}",
                                "{}", True, 1, False, now, now, now))
        with cur.copy("COPY user_roles (user_id, role) FROM STDIN") as copy:
            for i in range(1, TUTORS + 1):
                copy.write_row((i, "tutor"))
            copy.write_row((TUTORS + 1, "student"))
        names = dict(conn.execute("SELECT id, full_name FROM users").fetchall())
        with cur.copy("COPY tutor_profiles (user_id, headline, bio, search_name, rate_cents, currency, languages, "
                      "teaching_styles, mode, city, country, latitude, longitude, travel_radius_km, "
                      "years_experience, offers_trial, verified, rating_avg, rating_count, rating_bayes, created_at, "
                      "updated_at) FROM STDIN") as copy:
            subject_rows = []
            for i in range(1, TUTORS + 1):
                taught = rng.sample(subjects, rng.randint(1, 3))
                levels = {(subject_id, rng.choice(LEVELS)) for subject_id, _name in taught}
                subject_rows.extend((i, subject_id, level) for subject_id, level in sorted(levels))
                mode = rng.choice(MODES)
                city, country, lat, lon = rng.choice(CITIES)
                has_place = mode != "online" or rng.random() < 0.5
                count = rng.choice([0, 0, 0] + list(range(1, 60)))
                avg = round(rng.uniform(3.0, 5.0), 2) if count else None
                bayes = round((10 * 4.0 + avg * count) / (10 + count), 3) if count else None
                headline = f"{' and '.join(name for _id, name in taught)}: {' '.join(rng.sample(WORDS, 3))} lessons"
                bio = " ".join(rng.sample(WORDS, 3) + rng.sample(VOCABULARY or WORDS, 12)).capitalize() + f". Based in {city}."
                copy.write_row((
                    i, headline, bio, names[i], rng.randrange(1500, 12000, 100), rng.choice(CURRENCIES),
                    json.dumps(sorted(set(["en"] + rng.sample(LANGUAGES, rng.randint(0, 2))))),
                    json.dumps(sorted(rng.sample(STYLES, rng.randint(1, 3)))), mode,
                    city if has_place else None, country if has_place else None,
                    lat + rng.uniform(-0.3, 0.3) if has_place else None,
                    lon + rng.uniform(-0.3, 0.3) if has_place else None,
                    rng.choice([5, 10, 20, 30]) if mode != "online" else None, rng.randint(0, 25),
                    rng.random() < 0.4, rng.random() < 0.3, avg, count, bayes, now, now,
                ))
        with cur.copy("COPY tutor_subjects (tutor_id, subject_id, level) FROM STDIN") as copy:
            for row in subject_rows:
                copy.write_row(row)
        conn.execute("SELECT setval('users_id_seq', (SELECT max(id) FROM users))")
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE users, user_roles, tutor_profiles, tutor_subjects")
        print(f"seeded {TUTORS:,} tutors with COPY in {time.perf_counter() - started:.1f} s")


ZONES = ["Europe/Madrid", "Europe/London", "America/New_York", "America/Chicago", "Asia/Tokyo", "Australia/Sydney",
         "Asia/Kolkata", "America/Sao_Paulo", "UTC", "Europe/Berlin"]


def seed_availability(url):
    """Weekly hours for 85% of the tutors (3-6 weekdays, one or two stretches a day), ten zones, settings rows for
    half of them, a day off in the next weeks for a tenth and a busy block for a tenth: what the availability
    window filter (mixes D and E) reads. Idempotent per run: the tables are emptied first."""
    rng = random.Random(2027)
    now = datetime.now(UTC)
    started = time.perf_counter()
    with psycopg.connect(url) as conn:
        conn.execute("TRUNCATE availability_rules, availability_overrides, scheduling_settings, busy_blocks "
                     "RESTART IDENTITY")
        zones = "{" + ",".join(ZONES) + "}"
        conn.execute("UPDATE users SET timezone = (%s::text[])[1 + id %% %s] WHERE id <= %s",
                     (zones, len(ZONES), TUTORS))
        cur = conn.cursor()
        with cur.copy("COPY availability_rules (tutor_id, weekday, start_minute, end_minute) FROM STDIN") as copy:
            for tutor in range(1, TUTORS + 1):
                if rng.random() < 0.15:
                    continue
                for weekday in rng.sample(range(7), rng.randint(3, 6)):
                    start = rng.randrange(6 * 60, 14 * 60, 30)
                    copy.write_row((tutor, weekday, start, start + rng.randrange(120, 300, 30)))
                    if rng.random() < 0.4:
                        copy.write_row((tutor, weekday, 17 * 60, 17 * 60 + rng.randrange(60, 300, 30)))
        with cur.copy("COPY scheduling_settings (tutor_id, timezone, session_lengths, slot_interval_minutes, "
                      "buffer_before_minutes, buffer_after_minutes, min_notice_minutes, max_days_ahead, "
                      "instant_booking, cancellation_window_hours, late_cancellation_refund_percent, created_at, "
                      "updated_at) FROM STDIN") as copy:
            for tutor in range(1, TUTORS + 1, 2):
                copy.write_row((tutor, None, json.dumps(rng.sample([30, 45, 60, 90], rng.randint(1, 3))),
                                rng.choice([15, 30, 60]), 0, rng.choice([0, 10, 15]), rng.choice([0, 240, 720, 1440]),
                                rng.choice([30, 60, 90]), False, 24, 50, now, now))
        with cur.copy("COPY availability_overrides (tutor_id, date, start_minute, end_minute) FROM STDIN") as copy:
            for tutor in range(3, TUTORS + 1, 10):
                copy.write_row((tutor, (now + timedelta(days=rng.randint(1, 40))).date(), None, None))
        with cur.copy("COPY busy_blocks (user_id, start_at, end_at, source, created_at) FROM STDIN") as copy:
            for tutor in range(7, TUTORS + 1, 10):
                start = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=rng.randint(24, 40 * 24))
                copy.write_row((tutor, start, start + timedelta(hours=rng.randint(1, 72)), "manual", now))
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE users, availability_rules, availability_overrides, scheduling_settings, "
                     "busy_blocks")
    print(f"seeded availability for {TUTORS:,} tutors with COPY in {time.perf_counter() - started:.1f} s")


def migrated_revision(db):
    revision = db.session.scalar(db.text("SELECT version_num FROM alembic_version")) if db.inspect(
        db.engine).has_table("alembic_version") else None
    db.session.rollback()
    return revision


def vacuum(url):
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE users, user_roles, tutor_profiles, tutor_subjects")
    print("migrations applied to the reused seed: VACUUM ANALYZE done")


def vacuum_match_log(url):
    """The match log earlier runs left, vacuumed as autovacuum would (it may be off on a bench server): the
    candidate statement's impression counts are index-only scans only with a current visibility map."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE match_requests, match_impressions, match_outcomes")


def timed(label, call, params, n=REQUESTS):
    for k in range(WARMUP):
        call(params[k % len(params)])
    samples = []
    started = time.perf_counter()
    for k in range(n):
        t0 = time.perf_counter()
        call(params[k % len(params)])
        samples.append((time.perf_counter() - t0) * 1000)
    elapsed = time.perf_counter() - started
    samples.sort()
    p95 = samples[int(0.95 * (len(samples) - 1))]
    print(f"{label:<52} p50 {statistics.median(samples):7.2f} ms   p95 {p95:7.2f} ms   {n / elapsed:8.1f} req/s")
    return p95


def explain(app, statement):
    from app.extensions import db

    with app.test_request_context():
        # With bind parameters, as the app sends it (literal binds would turn float parameters into numerics).
        expanded = statement().compile(dialect=db.engine.dialect).construct_expanded_state()
        rows = db.session.connection().exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {expanded.statement}",
                                                       expanded.parameters).scalars().all()
        db.session.rollback()
    return "\n".join(rows)


def explain_main_query(app):
    """The page-and-capped-count statement of mix A (mathematics, secondary, max_rate 4000 USD, page 1)."""
    from app.matching.search import search_page_statement

    filters = {"subject": "mathematics", "level": "secondary", "max_rate": 4000, "currency": "USD", "sort": "rating"}
    return explain(app, lambda: search_page_statement(filters, 0, 20, 1000).page)


def explain_matching_query(app, student_email):
    """The candidate statement of a match (mathematics, secondary, both, Paris, budget 80 USD, no styles)."""
    from app.extensions import db
    from app.matching import learning, services
    from app.matching.weights import current_weights
    from app.tutors.services import subject_by_slug
    from app.users.models import User

    def statement():
        student = db.session.scalar(db.select(User).where(User.email == student_email))
        request = {"subject": "mathematics", "level": "secondary", "mode": "both", "location": {"lat": 48.8566,
                   "lon": 2.3522}, "learning_styles": ["visual", "reading"],
                   "budget": {"max_rate_cents": 8000, "currency": "USD"}}
        boost, half_life = learning.cold_boost_settings()
        return services.candidate_rows_query(student, request, subject_by_slug("mathematics").id, current_weights(),
                                             services.FETCH_ROWS,
                                             exposure_cap=learning.exposure_cap(half_life) if boost else None)

    return explain(app, statement)


def matching_recall(app, student_email, bodies):
    """How often the top 10 equals the top 10 of scoring every eligible tutor of the subject (all rows read)."""
    from app.extensions import db
    from app.matching import learning, services
    from app.users.models import User

    same = overlap = considered = exhaustive = 0
    with app.test_request_context():
        student = db.session.scalar(db.select(User).where(User.email == student_email))
        for body in bodies:
            # rank() with the arm's weights: match() would log impressions, moving the cold-start boosts between
            # the two calls.
            _arm, weights, _version = learning.serving_weights(student.id, services.current_weights())
            fast = services.rank(student, dict(body), limit=10, weights=weights)
            saved = services.FETCH_ROWS
            services.FETCH_ROWS = 10 ** 7
            try:
                exact = services.rank(student, dict(body), limit=10, weights=weights)
            finally:
                services.FETCH_ROWS = saved
            fast_top = [(m["tutor"].id, m["score"]) for m in fast["matches"]]
            exact_top = [(m["tutor"].id, m["score"]) for m in exact["matches"]]
            same += fast_top == exact_top
            overlap += len(set(fast_top) & set(exact_top))
            considered += fast["candidates_considered"]
            exhaustive += exact["candidates_considered"]
        db.session.rollback()
    n = len(bodies)
    print(f"matching vs exhaustive scoring over {n} requests: same top 10 in {same}/{n}, mean overlap "
          f"{overlap / n:.1f}/10; candidates scored {considered / n:.0f} vs {exhaustive / n:.0f} eligible")


def use_learned_model(db):
    """A stored model with LEARNED_WEIGHTS as the newest version (once), loaded into the process's cache."""
    from app.common.transactions import unit_of_work
    from app.matching import learning
    from app.matching.models import MatchModel

    newest = learning.refresh_model()
    if newest is None or newest["weights"] != LEARNED_WEIGHTS:
        with unit_of_work():
            version = (db.session.scalar(db.select(db.func.max(MatchModel.version))) or 0) + 1
            db.session.add(MatchModel(version=version, kind="bench", features=list(learning.FEATURES),
                                      weights=LEARNED_WEIGHTS, metrics={}, trained_on=0))
        newest = learning.refresh_model()
    print(f"matching arm: learned, model version {newest['version']}")


def main():
    url = database_url()
    ensure_database(url)
    app = make_app(url)
    from flask_migrate import upgrade

    from app.auth.services import issue_tokens
    from app.common.security import hash_password
    from app.extensions import db
    from app.users.models import User

    with app.app_context():
        before = migrated_revision(db)
        upgrade()
        migrated = migrated_revision(db) != before
        have = db.session.scalar(db.text("SELECT count(*) FROM tutor_profiles"))
        db.session.rollback()  # release the read lock before TRUNCATE in another connection
        if have != TUTORS or os.environ.get("BENCH_RESEED") == "1":
            password_hash = hash_password("bench-password-not-used")
            db.session.remove()
            seed(url, password_hash)
        else:
            print(f"reusing {have:,} seeded tutors (BENCH_RESEED=1 to reseed)")
            if migrated:  # a migration rewrote seeded rows: vacuum as the seed does (index-only scans need it)
                db.session.remove()
                vacuum(url)
        have_hours = db.session.scalar(db.text("SELECT count(*) FROM availability_rules"))
        db.session.rollback()
        if not have_hours or os.environ.get("BENCH_RESEED") == "1":
            db.session.remove()
            seed_availability(url)
        if MATCH_ARM == "learned":
            use_learned_model(db)
        db.session.remove()
        vacuum_match_log(url)
        student = db.session.scalar(db.select(User).where(User.email == f"bench{TUTORS + 1}@example.com"))
        headers = {"Authorization": f"Bearer {issue_tokens(student)['access_token']}"}
        slugs = db.session.scalars(db.text("SELECT slug FROM subjects ORDER BY id")).all()

    client = app.test_client()
    rng = random.Random(7)

    def get(query):
        response = client.get(f"/api/v1/tutors?{query}")
        assert response.status_code == 200, response.get_data(as_text=True)

    def post(body):
        response = client.post("/api/v1/matches", json=body, headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)

    mix_a = [f"subject={rng.choice(slugs)}&level={rng.choice(LEVELS)}&max_rate={rng.randrange(3000, 9000, 500)}"
             f"&currency=USD&sort=rating" for _ in range(50)]
    mix_b = [f"near={lat + rng.uniform(-0.1, 0.1):.4f},{lon + rng.uniform(-0.1, 0.1):.4f}&radius_km=15"
             f"&mode=in_person&sort=distance" for _city, _cc, lat, lon in CITIES]
    mix_c = [f"q={rng.choice(VOCABULARY or WORDS)}&verified_only=true&language={rng.choice(LANGUAGES[:6])}"
             for _ in range(50)]
    def window(days_ahead, hour, hours):
        start = (datetime.now(UTC) + timedelta(days=days_ahead)).replace(hour=hour, minute=0, second=0, microsecond=0)
        end = start + timedelta(hours=hours)
        return f"available_start={start:%Y-%m-%dT%H:%M:%SZ}&available_end={end:%Y-%m-%dT%H:%M:%SZ}"

    mix_d = [f"{window(rng.randint(2, 50), rng.randint(0, 23), rng.choice([1, 2, 3]))}&sort=rating" for _ in range(50)]
    mix_e = [f"subject={rng.choice(slugs)}&level={rng.choice(LEVELS)}&"
             f"{window(rng.randint(2, 50), rng.randint(0, 23), rng.choice([1, 2]))}" for _ in range(50)]
    matches = [{"subject": rng.choice(slugs), "level": rng.choice(LEVELS), "mode": "both",
                "location": {"lat": lat, "lon": lon}, "learning_styles": rng.sample(STYLES, 2),
                "budget": {"max_rate_cents": 8000, "currency": "USD"}} for _city, _cc, lat, lon in CITIES]

    print(f"\n{TUTORS:,} tutors, {REQUESTS} timed requests per line, in-process Flask test client, PostgreSQL\n")
    timed("bare Flask JSON route", lambda _p: client.get("/bench/bare"), [None])
    results = {
        "A": timed("GET /tutors subject+level+max_rate+currency, by rating", get, mix_a),
        "B": timed("GET /tutors near 15 km + in_person, sort=distance", get, mix_b),
        "C": timed("GET /tutors q (full text)+verified_only+language", get, mix_c),
        "D": timed("GET /tutors available window (1-3 h), sort=rating", get, mix_d),
        "E": timed("GET /tutors subject+level+available window (1-2 h)", get, mix_e),
        "M": timed("POST /matches subject+level+both+location+budget", post, matches),
    }
    print("\ntarget p95 < 25 ms:", ", ".join(f"{k} {'ok' if v < 25 else 'MISSED'}" for k, v in results.items()))
    print()
    matching_recall(app, f"bench{TUTORS + 1}@example.com", matches)
    print("\nEXPLAIN (ANALYZE, BUFFERS) of mix A (mathematics, secondary, max_rate 4000): page and capped count\n")
    print(explain_main_query(app))
    print("\nEXPLAIN (ANALYZE, BUFFERS) of the matching candidates (mathematics, secondary, both, Paris):\n")
    print(explain_matching_query(app, f"bench{TUTORS + 1}@example.com"))


if __name__ == "__main__":
    main()
