"""Analytics bench: the four admin reports over 1,000,000 bookings and a year of activity, and the nightly rollup.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/tutorhub_hanalytics_bench .venv/bin/python bench/analytics.py
    .venv/bin/python bench/analytics.py --reuse        # keep the loaded data (skip the load)
    .venv/bin/python bench/analytics.py --reuse --only reports    # or --only rollup

The database is created if missing and, unless --reuse, its schema rebuilt from the migrations and loaded with
bulk SQL (INSERT ... SELECT generate_series): 50,000 users (1,000 tutors), 1,000,000 bookings over 333 days
(~3,000 a day, 10 subjects, every state), their ledger (a hold per booking, a settlement per completed session),
~260,000 reviews, 20,000 conversations with 1,000,000 messages, matching's log of the last 180 days (a match
response 1 h before every other booking, showing ten tutors including the one booked: ~270,000 responses, 2.7M
tutors shown, their ``booked`` and ``completed`` outcomes), and a year of activity (~8,000 users a day).
Then ``flask analytics backfill`` rolls up every past day, and the figures printed are:

[1] rollup: the nightly rollup of one day (``services.rollup(day)``), BENCH_ROLLUP_RUNS runs; target < 10 s.
[2] reports: each report over the last 365 full days (group day, week, month; rollups only) and over the last 30
    days including today (rollups + today live), through GET /api/v1/admin/analytics/<report> with the Flask
    test client in a process set up as wsgi.py sets up the server's (start-up heap frozen, full garbage
    collections on GC_FULL_COLLECT_SECONDS' schedule), BENCH_REQUESTS each; p50/p95, beside GET /health and GET /users/me in the same run (the
    machine's speed at that moment). Target: p95 < 200 ms from the rollups.

Nothing is asserted on time; figures go to bench/README.md.
"""
import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config import TestingConfig, normalize_database_url  # noqa: E402  (the repository root is on the path now)

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/tutorhub_hanalytics_bench"
BENCH_URL = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "40"))
ROLLUP_RUNS = int(os.environ.get("BENCH_ROLLUP_RUNS", "3"))
BOOKINGS = int(os.environ.get("BENCH_BOOKINGS", "1000000"))
TUTORS, USERS = 1000, 50000
MATCH_LOG_DAYS = 180  # matching keeps its log MATCH_LOG_RETENTION_DAYS (180 by default)
SUBJECTS = "ARRAY['calculus','physics','chemistry','biology','english','spanish','japanese','python'," \
           "'statistics','history']"

LOAD = [
    ("users", f"""
INSERT INTO users (id, email, password_hash, full_name, bio, timezone, locale, learning_styles, preferences,
                   social_links, is_active, token_version, mfa_enabled, created_at, updated_at)
SELECT n, 'user' || n || '@bench.test', 'x', 'User ' || n, '', 'UTC', 'en', '[]', '{{}}', '{{}}', true, 0, false,
       now() - interval '400 days' + (n * interval '1 second' * (365 * 86400 / {USERS})),
       now() - interval '400 days'
FROM generate_series(1, {USERS}) AS n;
SELECT setval('users_id_seq', {USERS});
INSERT INTO user_roles (user_id, role) SELECT n, CASE WHEN n <= {TUTORS} THEN 'tutor' ELSE 'student' END
FROM generate_series(1, {USERS}) AS n;
INSERT INTO users (email, password_hash, full_name, bio, timezone, locale, learning_styles, preferences,
                   social_links, is_active, token_version, mfa_enabled, created_at, updated_at)
VALUES ('admin@bench.test', 'x', 'Bench Admin', '', 'UTC', 'en', '[]', '{{}}', '{{}}', true, 0, false, now(), now());
INSERT INTO user_roles (user_id, role) SELECT id, 'admin' FROM users WHERE email = 'admin@bench.test';
"""),
    ("bookings", f"""
INSERT INTO bookings (tutor_id, student_id, subject, note, state, start_at, end_at, duration_minutes,
                      tutor_range_start, tutor_range_end, sequence, is_repeat, created_at, updated_at,
                      confirmed_at, completed_at, cancelled_at, price_minor, currency)
SELECT tutor, student, subject, '', state, start_at, start_at + interval '1 hour', 60, start_at,
       start_at + interval '1 hour', 0, false, created_at,
       CASE state WHEN 'completed' THEN start_at + interval '1 hour' WHEN 'cancelled' THEN start_at - interval '12 hours'
                  WHEN 'rejected' THEN created_at + interval '2 hours' WHEN 'requested' THEN created_at
                  WHEN 'confirmed' THEN confirmed_at ELSE start_at + interval '1 hour' END,
       confirmed_at, CASE WHEN state = 'completed' THEN start_at + interval '1 hour' END,
       CASE WHEN state = 'cancelled' THEN start_at - interval '12 hours' END, 4500, 'USD'
FROM (
  SELECT i, 1 + (i % {TUTORS}) AS tutor, {TUTORS} + 1 + ((i::bigint * 7919) % ({USERS} - {TUTORS})) AS student,
         ({SUBJECTS})[1 + (i % 10)] AS subject, start_at, start_at - ((1 + i % 300) * interval '1 hour') AS created_at,
         CASE WHEN start_at > now() THEN (CASE WHEN i % 2 = 0 THEN 'requested' ELSE 'confirmed' END)
              WHEN i % 100 < 78 THEN 'completed' WHEN i % 100 < 86 THEN 'cancelled' WHEN i % 100 < 90 THEN 'no_show'
              WHEN i % 100 < 96 THEN 'rejected' ELSE 'expired' END AS state
  FROM (SELECT i, date_trunc('hour', now()) - interval '330 days'
                  + ((i - 1) / {TUTORS}) * interval '8 hours' AS start_at
        FROM generate_series(1, {BOOKINGS}) AS i) AS slots
) AS b
CROSS JOIN LATERAL (SELECT CASE WHEN state IN ('requested', 'rejected', 'expired') THEN NULL
                                WHEN i % 5 = 0 THEN created_at
                                ELSE created_at + ((10 + i % 600) * interval '1 minute') END AS confirmed_at) AS c;
"""),
    ("ledger", """
ALTER TABLE ledger_entries DISABLE TRIGGER trg_ledger_entries_balanced;
INSERT INTO accounts (owner_id, kind, currency, balance_minor, created_at) VALUES
  (NULL, 'escrow', 'USD', 0, now()), (NULL, 'platform_revenue', 'USD', 0, now()),
  (NULL, 'external:paypal', 'USD', 0, now());
INSERT INTO ledger_transactions (id, kind, cause_type, cause_id, created_at)
SELECT id, 'booking_hold', 'booking', id, created_at FROM bookings;
INSERT INTO ledger_transactions (id, kind, cause_type, cause_id, created_at)
SELECT 2000000000 - id, 'booking_settlement', 'booking', id, completed_at FROM bookings WHERE state = 'completed';
SELECT setval(pg_get_serial_sequence('ledger_transactions', 'id'), 2000000000);
INSERT INTO ledger_entries (transaction_id, account_id, currency, amount_minor)
SELECT t.id, a.id, 'USD', CASE a.kind WHEN 'escrow' THEN 4500 ELSE -4500 END
FROM ledger_transactions t CROSS JOIN accounts a
WHERE t.kind = 'booking_hold' AND a.kind IN ('escrow', 'external:paypal');
INSERT INTO ledger_entries (transaction_id, account_id, currency, amount_minor)
SELECT t.id, a.id, 'USD', CASE a.kind WHEN 'escrow' THEN -4500 WHEN 'platform_revenue' THEN 675 ELSE 3825 END
FROM ledger_transactions t CROSS JOIN accounts a
WHERE t.kind = 'booking_settlement';
ALTER TABLE ledger_entries ENABLE TRIGGER trg_ledger_entries_balanced;
"""),
    ("reviews", """
INSERT INTO reviews (booking_id, author_id, author_role, tutor_id, student_id, overall, clarity, comment,
                     window_closes_at, status, queued, blocklisted, flag_count, helpful_count, counted, created_at,
                     updated_at)
SELECT id, student_id, 'student', tutor_id, student_id, (ARRAY[1,2,3,3,4,4,4,5,5,5])[1 + (id * 31) % 10], 4, '',
       end_at + interval '30 days', 'visible', false, false, 0, 0, true, end_at + interval '2 hours',
       end_at + interval '2 hours'
FROM bookings WHERE state = 'completed' AND id % 3 = 0;
"""),
    ("messages", f"""
INSERT INTO conversations (id, kind, user_low_id, user_high_id, created_at)
SELECT n, 'pair', 1 + (n % {TUTORS}), {TUTORS} + 1 + ((n::bigint * 104729) % ({USERS} - {TUTORS})),
       now() - interval '365 days'
FROM generate_series(1, 20000) AS n ON CONFLICT DO NOTHING;
SELECT setval(pg_get_serial_sequence('conversations', 'id'), 20000);
INSERT INTO messages (conversation_id, sender_id, body, created_at, kind)
SELECT c.id, CASE WHEN m % 2 = 0 THEN c.user_low_id ELSE c.user_high_id END, 'hello',
       now() - (m * interval '1 second' * (365 * 86400 / 1000000)), 'text'
FROM generate_series(1, 1000000) AS m JOIN conversations c ON c.id = 1 + (m % 20000);
"""),
    ("matches", f"""
INSERT INTO match_requests (id, student_id, created_at, arm, model_version, explore, features)
SELECT md5(id::text), student_id, created_at - interval '1 hour', CASE WHEN id % 5 = 0 THEN 'learned' ELSE 'fixed' END,
       NULL, id % 10 = 0, json_build_object('subject', subject, 'level', 'any', 'mode', 'online', 'location', false,
                                            'budget', true, 'styles', 1, 'times', 0)
FROM bookings WHERE id % 2 = 0 AND created_at >= now() - interval '{MATCH_LOG_DAYS} days';
INSERT INTO match_impressions (request_id, tutor_id, rank, score, parts)
SELECT md5(b.id::text), 1 + ((b.tutor_id - 1 + k) % {TUTORS}), 1 + ((k + b.id) % 10), 0.5,
       '[0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]'
FROM bookings b CROSS JOIN generate_series(0, 9) AS k
WHERE b.id % 2 = 0 AND b.created_at >= now() - interval '{MATCH_LOG_DAYS} days';
INSERT INTO match_outcomes (request_id, tutor_id, kind, at, booking_id)
SELECT md5(id::text), tutor_id, 'booked', created_at, id FROM bookings
WHERE id % 2 = 0 AND created_at >= now() - interval '{MATCH_LOG_DAYS} days'
UNION ALL
SELECT md5(id::text), tutor_id, 'completed', completed_at, id FROM bookings
WHERE id % 2 = 0 AND created_at >= now() - interval '{MATCH_LOG_DAYS} days' AND state = 'completed';
"""),
    ("activity", f"""
INSERT INTO analytics_activity (user_id, day, kind, count)
SELECT u, (now() AT TIME ZONE 'UTC')::date - d, k, 1
FROM generate_series(0, 365) AS d, generate_series(1, {USERS}) AS u, unnest(ARRAY['login', 'chat']) AS k
WHERE (u * 37 + d * 11 + length(k)) % 6 = 0
ORDER BY d DESC, u, k;  -- day after day, as the activity log is written
"""),
    ("analyze", "ANALYZE;"),
]


def make_config():
    class BenchConfig(TestingConfig):
        TESTING = False
        SQLALCHEMY_DATABASE_URI = normalize_database_url(BENCH_URL)
        RATELIMIT_ENABLED = False

    return BenchConfig


def ensure_database():
    base, _, name = BENCH_URL.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            connection.execute(f'CREATE DATABASE "{name}"')


def load():
    from flask_migrate import upgrade

    from app.extensions import db

    with db.engine.begin() as connection:
        connection.execute(sa.text("DROP SCHEMA public CASCADE"))
        connection.execute(sa.text("CREATE SCHEMA public"))
    upgrade(directory=str(ROOT / "migrations"))
    url = BENCH_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as connection:
        for name, script in LOAD:
            started = time.perf_counter()
            connection.execute(script)
            print(f"  load {name:<9} {time.perf_counter() - started:6.1f} s", flush=True)


def backfill():
    from app.analytics import services
    from app.common.transactions import unit_of_work

    today = datetime.now(UTC).date()
    started = time.perf_counter()
    with unit_of_work():
        days = services.backfill(today - timedelta(days=366))
    print(f"  backfill {days} days {time.perf_counter() - started:6.1f} s", flush=True)


def bench_rollup():
    from app.analytics import services
    from app.common.transactions import unit_of_work

    day = datetime.now(UTC).date() - timedelta(days=1)
    timings = []
    for _ in range(ROLLUP_RUNS):
        started = time.perf_counter()
        with unit_of_work():
            services.rollup(day)
        timings.append(time.perf_counter() - started)
    bookings = _scalar("SELECT count(*) FROM bookings WHERE created_at >= :d AND created_at < :d + interval '1 day'",
                       d=day)
    print(f"[1] nightly rollup of {day} ({bookings} bookings created that day): "
          f"min {min(timings):.2f} s, max {max(timings):.2f} s over {ROLLUP_RUNS} runs (target < 10 s)")


def _scalar(sql, **params):
    from app.extensions import db

    return db.session.execute(sa.text(sql), params).scalar()


def _percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def serve_like_wsgi(app):
    """The server's process set-up (wsgi.py): the start-up heap frozen, full collections on its schedule."""
    from app.common.runtime import freeze_startup_heap, schedule_full_collections
    from app.extensions import socketio

    freeze_startup_heap()
    schedule_full_collections(app.config.get("GC_FULL_COLLECT_SECONDS"), socketio.start_background_task,
                              socketio.sleep, app.config.get("GC_MIDDLE_THRESHOLD"))


def bench_reports(app):
    from flask_jwt_extended import create_access_token

    from app.extensions import db
    from app.users.models import User

    admin = db.session.scalar(sa.select(User).where(User.email == "admin@bench.test"))
    token = create_access_token(identity=admin, additional_claims={"tv": admin.token_version, "roles": admin.roles})
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    now = datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    windows = [
        ("365 d, rollups", midnight - timedelta(days=365), midnight),
        ("30 d + today live", midnight - timedelta(days=30), now),
    ]
    print(f"[2] reports ({REQUESTS} requests each, ms)")
    for path in ("/api/v1/health", "/api/v1/users/me"):
        timings = []
        for _ in range(REQUESTS):
            started = time.perf_counter()
            client.get(path, headers=headers)
            timings.append((time.perf_counter() - started) * 1000)
        print(f"  baseline {path:<28} p50 {statistics.median(timings):6.1f}  p95 {_percentile(timings, 0.95):6.1f}")
    for label, since, until in windows:
        for group in ("day", "week", "month") if label.startswith("365") else ("day",):
            for name in ("engagement", "matching", "marketplace", "quality"):
                timings = []
                query = {"from": since.isoformat(), "to": until.isoformat(), "group": group}
                for _ in range(REQUESTS):
                    started = time.perf_counter()
                    response = client.get(f"/api/v1/admin/analytics/{name}", query_string=query, headers=headers)
                    timings.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200, response.get_json()
                print(f"  {label:<18} {group:<5} {name:<11} p50 {statistics.median(timings):6.1f}  "
                      f"p95 {_percentile(timings, 0.95):6.1f}  rows {len(response.get_json()['periods'])}",
                      flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--reuse", action="store_true", help="keep the loaded data")
    parser.add_argument("--only", choices=("rollup", "reports"), help="run one part")
    args = parser.parse_args()
    ensure_database()
    from app import create_app

    app = create_app(make_config())
    with app.app_context():
        if not args.reuse:
            load()
            backfill()
        if args.only != "reports":
            bench_rollup()
        if args.only != "rollup":
            serve_like_wsgi(app)
            bench_reports(app)


if __name__ == "__main__":
    main()
