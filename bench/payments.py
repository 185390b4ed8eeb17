"""Payments bench: 1,000 concurrent debits of one wallet over HTTP, and POST /bookings with and without its hold.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/tutorhub_payments_bench .venv/bin/python bench/payments.py
    .venv/bin/python bench/payments.py --only debits      # or latency

The database is created if missing and its schema rebuilt from the migrations (everything in it is dropped).
The app is served by werkzeug's threaded server on 127.0.0.1:BENCH_PORT (default 5150). Figures are printed;
nothing is asserted on time.

[1] debits: one student whose wallet holds the price of 500 half-hour sessions sends 1,000 concurrent
    POST /bookings (1,000 distinct slots, 100 client threads): target exactly 500 × 201 and 500 × 402, no 5xx,
    the wallet at 0, the ledger sound (every transaction sums to zero, cached balances equal their entries).
[2] latency: POST /bookings of a priced tutor (the price held wallet → escrow) and of a tutor without a rate (no
    payments), interleaved in one run from BENCH_CLIENTS client threads; p50/p95 of each. Target: paid p95 ≤ 1.5×
    the free p95. Recorded figures: bench/README.md.
"""
import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import psycopg
import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config import TestingConfig, normalize_database_url  # noqa: E402  (the repository root is on the path now)

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/tutorhub_payments_bench"
BENCH_URL = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
PORT = int(os.environ.get("BENCH_PORT", "5150"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "8"))
LATENCY_REQUESTS = int(os.environ.get("BENCH_REQUESTS", "400"))


def make_config(outbox_dir):
    class BenchConfig(TestingConfig):
        TESTING = False
        SQLALCHEMY_DATABASE_URI = normalize_database_url(BENCH_URL)
        SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 30, "max_overflow": 20, "pool_timeout": 120}  # noqa: RUF012
        MAIL_OUTBOX_DIR = outbox_dir
        RATELIMIT_ENABLED = False
        # One student sends all the debits to one tutor: the money is measured, not the pending-request cap.
        BOOKING_MAX_PENDING_PER_TUTOR = 0

    return BenchConfig


def ensure_database():
    if not BENCH_URL.startswith("postgresql"):
        return
    base, _, name = BENCH_URL.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            connection.execute(f'CREATE DATABASE "{name}"')


def reset_schema():
    from flask_migrate import upgrade

    from app.extensions import db

    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as connection:
            connection.execute(sa.text("DROP SCHEMA public CASCADE"))
            connection.execute(sa.text("CREATE SCHEMA public"))
    upgrade(directory=str(ROOT / "migrations"))


_password_hash = None


def make_user(email, roles, zone="UTC"):
    from app.common.security import hash_password
    from app.common.time import utcnow
    from app.extensions import db
    from app.users.models import User

    global _password_hash
    _password_hash = _password_hash or hash_password("bench password 2026")
    user = User(email=email, password_hash=_password_hash, full_name=email.split("@")[0].title(), timezone=zone,
                email_confirmed_at=utcnow(), learning_styles=[], preferences={}, social_links={})
    user.roles = roles
    db.session.add(user)
    return user


def make_tutor(email, rate_cents):
    """A tutor bookable around the clock for 90 days; with a profile (and rate) when rate_cents is not None."""
    from app.extensions import db
    from app.scheduling.models import AvailabilityRule, SchedulingSettings
    from app.tutors.models import Subject, TutorProfile

    tutor = make_user(email, ["tutor"])
    db.session.flush()
    db.session.add(SchedulingSettings(tutor_id=tutor.id, session_lengths=[30, 60], slot_interval_minutes=30,
                                      min_notice_minutes=0, max_days_ahead=90))
    db.session.add_all(AvailabilityRule(tutor_id=tutor.id, weekday=day, start_minute=0, end_minute=1440)
                       for day in range(7))
    if db.session.scalar(sa.select(Subject).where(Subject.slug == "mathematics")) is None:
        db.session.add(Subject(slug="mathematics", name="Mathematics", category="STEM"))
    if rate_cents is not None:
        db.session.add(TutorProfile(user_id=tutor.id, search_name=tutor.full_name, headline="Bench tutor", bio="",
                                    rate_cents=rate_cents, currency="USD", languages=["en"], teaching_styles=[],
                                    mode="online", years_experience=1, offers_trial=False, verified=False,
                                    rating_count=0))
    return tutor


def fund(user, amount):
    from app.common.transactions import unit_of_work
    from app.payments import services as payments

    with unit_of_work():
        payments.fund_wallet(user.id, amount, "USD", "seed", memo="bench funding")


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def serve(app):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", PORT, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{PORT}/api/v1/bookings"


def load():
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


# --- 1. 1,000 concurrent debits of one wallet ------------------------------------------------------------------

def bench_debits(app, requests_count=1000, affordable=500, pool=100):
    from app.auth.services import issue_tokens
    from app.common.time import utcnow
    from app.extensions import db
    from app.payments import services as payments
    from app.payments.models import Account

    tutor = make_tutor("debit.tutor@bench.test", rate_cents=2000)  # 30 minutes: 1000
    student = make_user("debit.student@bench.test", ["student"])
    db.session.commit()
    fund(student, affordable * 1000)
    token = issue_tokens(student)["access_token"]
    db.session.commit()
    student_id, tutor_id = student.id, tutor.id
    base = (utcnow() + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    payloads = [{"tutor_id": tutor_id, "start": (base + timedelta(minutes=30 * index)).isoformat(), "duration": 30,
                 "subject": "mathematics"} for index in range(requests_count)]
    server, url = serve(app)
    barrier = threading.Barrier(pool)
    session = threading.local()

    def fire(index):
        if index < pool:
            barrier.wait()
        http = getattr(session, "http", None) or requests.Session()
        session.http = http
        try:
            return http.post(url, json=payloads[index], headers={"Authorization": f"Bearer {token}"},
                             timeout=300).status_code
        except requests.RequestException as error:
            return f"error:{type(error).__name__}"

    print(f"[1] load before: {load()}")
    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=pool) as executor:
        statuses = list(executor.map(fire, range(requests_count)))
    elapsed = time.perf_counter() - began
    server.shutdown()
    db.session.remove()
    counts = Counter(statuses)
    wallet = db.session.scalar(sa.select(Account.balance_minor).where(Account.owner_id == student_id,
                                                                      Account.kind == "wallet"))
    ledger_sum = db.session.scalar(sa.text("SELECT coalesce(sum(amount_minor), 0) FROM ledger_entries"))
    problems = payments.verify()
    server_errors = sum(count for status, count in counts.items() if not isinstance(status, int) or status >= 500)
    print(f"[1] {requests_count} concurrent POST /bookings debiting one wallet funded for {affordable} "
          f"({pool} client threads, threaded server) in {elapsed:.1f} s: "
          + ", ".join(f"{status}: {count}" for status, count in sorted(counts.items(), key=str))
          + f"; 5xx/errors: {server_errors}; wallet balance {wallet}; ledger sum {ledger_sum}; "
          f"ledger problems: {len(problems)}; load after: {load()}")


# --- 2. POST /bookings latency with and without the hold ---------------------------------------------------------

def bench_latency(app, count=LATENCY_REQUESTS, clients=CLIENTS):
    from app.auth.services import issue_tokens
    from app.common.time import utcnow
    from app.extensions import db

    paid_tutor = make_tutor("paid.tutor@bench.test", rate_cents=3000)
    free_tutor = make_tutor("free.tutor@bench.test", rate_cents=None)
    students = [make_user(f"latency.student{index}@bench.test", ["student"]) for index in range(count)]
    db.session.commit()
    for student in students[::2]:
        fund(student, 10_000)
    tokens = [issue_tokens(student)["access_token"] for student in students]
    db.session.commit()
    paid_id, free_id = paid_tutor.id, free_tutor.id
    base = (utcnow() + timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)
    # Even requests book the priced tutor (held), odd ones the free tutor: interleaved, so both see one load.
    jobs = [(index, paid_id if index % 2 == 0 else free_id,
             base + timedelta(minutes=30 * (index // 2))) for index in range(count)]
    server, url = serve(app)
    session = threading.local()

    def fire(job):
        index, tutor_id, start = job
        http = getattr(session, "http", None) or requests.Session()
        session.http = http
        payload = {"tutor_id": tutor_id, "start": start.isoformat(), "duration": 30, "subject": "mathematics"}
        began = time.perf_counter()
        status = http.post(url, json=payload, headers={"Authorization": f"Bearer {tokens[index]}"},
                           timeout=120).status_code
        return index % 2 == 0, status, (time.perf_counter() - began) * 1000

    print(f"[2] load before: {load()}")
    with ThreadPoolExecutor(max_workers=clients) as executor:
        results = list(executor.map(fire, jobs))
    server.shutdown()
    for paid in (True, False):
        times = [ms for is_paid, status, ms in results if is_paid == paid and status == 201]
        statuses = Counter(status for is_paid, status, _ in results if is_paid == paid)
        label = "with hold   " if paid else "without pay."
        print(f"[2] POST /bookings {label}: n={len(times)} p50 {statistics.median(times):.1f} ms, "
              f"p95 {percentile(times, 0.95):.1f} ms; statuses {dict(statuses)}")
    paid_p95 = percentile([ms for p, s, ms in results if p and s == 201], 0.95)
    free_p95 = percentile([ms for p, s, ms in results if not p and s == 201], 0.95)
    print(f"[2] p95 ratio (hold / none): {paid_p95 / free_p95:.2f} ({clients} client threads); load after: {load()}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=("debits", "latency"))
    args = parser.parse_args()
    ensure_database()
    from app import create_app

    with tempfile.TemporaryDirectory(prefix="tutorhub-payments-bench-") as outbox:
        app = create_app(make_config(outbox))
        with app.app_context():
            reset_schema()
            if args.only in (None, "debits"):
                bench_debits(app)
            if args.only in (None, "latency"):
                bench_latency(app)


if __name__ == "__main__":
    main()
