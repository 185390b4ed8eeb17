"""Scheduling bench: slot computation, 500 concurrent conflicting bookings over HTTP, 10,000 reminders.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/tutorhub_scheduling_bench .venv/bin/python bench/scheduling.py
    .venv/bin/python bench/scheduling.py --only slots      # or bookings, reminders
    BENCH_DATABASE_URL=sqlite:////tmp/tutorhub-bench.db .venv/bin/python bench/scheduling.py --only bookings \
        --clients 40 --pool 40                              # the embedded default's SQLite file, 40 at once
    BENCH_PORT=5121 …                                       # the booking race's server port (default: any free)

The database is created if missing and its schema rebuilt from the migrations (it is a bench database:
everything in it is dropped; a SQLite file is deleted and recreated). Figures are printed; nothing is asserted on time.

Targets: slots for 90 days < 5 ms per tutor (DB read included); 500 concurrent POST /bookings for one slot give
one 201, the rest 409, no 5xx and one booking row; 10,000 due reminders sent by one worker in < 60 s without a
duplicate. Recorded figures: bench/README.md.
"""
import argparse
import os
import statistics
import subprocess
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

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/tutorhub_scheduling_bench"
BENCH_URL = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)


def make_config(outbox_dir):
    class BenchConfig(TestingConfig):
        TESTING = False
        SQLALCHEMY_DATABASE_URI = normalize_database_url(BENCH_URL)
        # Enough connections for a threaded server under 500 concurrent requests, below max_connections.
        SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 30, "max_overflow": 20, "pool_timeout": 120}  # noqa: RUF012
        MAIL_OUTBOX_DIR = outbox_dir
        RATELIMIT_ENABLED = False

    return BenchConfig


def ensure_database():
    if not BENCH_URL.startswith("postgresql"):
        return
    base, _, name = BENCH_URL.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


def reset_schema(app):
    from flask_migrate import upgrade

    from app.extensions import db

    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as connection:
            connection.execute(sa.text("DROP SCHEMA public CASCADE"))
            connection.execute(sa.text("CREATE SCHEMA public"))
    else:  # a SQLite file (the embedded default's database): start from an empty one
        db.engine.dispose()
        path = db.engine.url.database
        if path and os.path.exists(path):
            os.remove(path)
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


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


# --- 1. slots ----------------------------------------------------------------------------------------------------

def bench_slots(app, runs=200):
    from app.common.time import utcnow
    from app.extensions import db
    from app.scheduling import services
    from app.scheduling.models import (
        AvailabilityOverride,
        AvailabilityRule,
        Booking,
        BusyBlock,
        SchedulingSettings,
    )

    tutor = make_user("slot.tutor@bench.test", ["tutor"], "America/New_York")
    db.session.flush()
    db.session.add(SchedulingSettings(tutor_id=tutor.id, session_lengths=[30, 60, 90], slot_interval_minutes=30,
                                      buffer_before_minutes=5, buffer_after_minutes=10, min_notice_minutes=720,
                                      max_days_ahead=120, daily_limit=6, weekly_limit=25))
    for weekday in range(5):
        db.session.add(AvailabilityRule(tutor_id=tutor.id, weekday=weekday, start_minute=8 * 60, end_minute=12 * 60))
        db.session.add(AvailabilityRule(tutor_id=tutor.id, weekday=weekday, start_minute=13 * 60, end_minute=19 * 60))
    db.session.add(AvailabilityRule(tutor_id=tutor.id, weekday=5, start_minute=10 * 60, end_minute=14 * 60))
    today = utcnow().date()
    for offset in (10, 24, 45, 70):
        db.session.add(AvailabilityOverride(tutor_id=tutor.id, date=today + timedelta(days=offset)))
    db.session.add(AvailabilityOverride(tutor_id=tutor.id, date=today + timedelta(days=30), start_minute=600,
                                        end_minute=720))
    now = utcnow().replace(minute=0, second=0, microsecond=0)
    for index in range(60):  # 60 booked sessions (with students) over the 90 days
        student = make_user(f"slot.student{index}@bench.test", ["student"])
        db.session.flush()
        start = now + timedelta(days=2 + index * 1.4, hours=(index % 5))
        db.session.add(Booking(tutor_id=tutor.id, student_id=student.id, subject="bench", state="confirmed",
                               start_at=start, end_at=start + timedelta(hours=1), duration_minutes=60,
                               tutor_range_start=start - timedelta(minutes=5),
                               tutor_range_end=start + timedelta(minutes=70)))
    for index in range(30):  # calendar busy blocks
        start = now + timedelta(days=1 + index * 3, hours=15)
        db.session.add(BusyBlock(user_id=tutor.id, start_at=start, end_at=start + timedelta(hours=2), source="google"))
    db.session.commit()

    window_end = now + timedelta(days=90)
    # The endpoint gets the id from the URL: read it once (after each rollback, ``tutor.id`` on the expired
    # ORM object would reload the user inside the timed call).
    tutor_id = tutor.id
    result = services.get_slots(tutor_id, now, window_end, 60)
    timings = []
    for _ in range(runs):
        began = time.perf_counter()
        services.get_slots(tutor_id, now, window_end, 60)
        timings.append((time.perf_counter() - began) * 1000)
        db.session.rollback()
    print(f"[1] slots for 90 days ({len(result['slots'])} free 60-min slots, zone {result['timezone']}), "
          f"{runs} runs incl. DB reads: mean {statistics.mean(timings):.2f} ms, p95 {percentile(timings, 0.95):.2f} ms "
          f"(target < 5 ms per tutor)")

    # The expansion alone, with the inputs already loaded.
    from app.scheduling.slots import free_slots

    policy = services.policy_for(tutor)
    rules = services.rules_for(tutor.id)
    overrides = services.overrides_for(tutor.id)
    busy = services.busy_intervals(tutor.id, now - timedelta(days=1), window_end + timedelta(days=1))
    starts = services.active_starts(tutor.id, now - timedelta(days=8), window_end + timedelta(days=8))
    pure = []
    for _ in range(runs):
        began = time.perf_counter()
        free_slots(policy, rules, overrides, busy, starts, now, window_end, 60, now)
        pure.append((time.perf_counter() - began) * 1000)
    print(f"    expansion only: mean {statistics.mean(pure):.2f} ms, p95 {percentile(pure, 0.95):.2f} ms")


# --- 2. concurrent conflicting bookings over HTTP ------------------------------------------------------------

def bench_concurrent_bookings(app, clients=500, pool=100):
    from werkzeug.serving import make_server

    from app.auth.services import issue_tokens
    from app.common.time import utcnow
    from app.extensions import db
    from app.scheduling.models import AvailabilityRule, Booking, SchedulingSettings

    tutor = make_user("race.tutor@bench.test", ["tutor"], "UTC")
    db.session.flush()
    db.session.add(SchedulingSettings(tutor_id=tutor.id, session_lengths=[60], slot_interval_minutes=60,
                                      min_notice_minutes=0, max_days_ahead=30))
    db.session.add_all(AvailabilityRule(tutor_id=tutor.id, weekday=day, start_minute=0, end_minute=1440)
                       for day in range(7))
    students = [make_user(f"race.student{index}@bench.test", ["student"]) for index in range(clients)]
    db.session.commit()
    tokens = [issue_tokens(student)["access_token"] for student in students]
    db.session.commit()  # issuing tokens writes; an open write transaction here would hold SQLite's write lock
    start = (utcnow() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    payload = {"tutor_id": tutor.id, "start": start.isoformat(), "duration": 60, "subject": "mathematics"}

    server = make_server("127.0.0.1", int(os.environ.get("BENCH_PORT", "0")), app, threaded=True)
    server_thread = threading.Thread(target=server.serve_forever, daemon=True)
    server_thread.start()
    url = f"http://127.0.0.1:{server.server_port}/api/v1/bookings"
    barrier = threading.Barrier(pool)

    def fire(index):
        if index < pool:
            barrier.wait()
        try:
            response = requests.post(url, json=payload, headers={"Authorization": f"Bearer {tokens[index]}"}, timeout=180)
            return response.status_code
        except requests.RequestException as error:
            return f"error:{type(error).__name__}"

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=pool) as executor:
        statuses = list(executor.map(fire, range(clients)))
    elapsed = time.perf_counter() - began
    server.shutdown()
    counts = Counter(statuses)
    rows = db.session.scalar(sa.select(sa.func.count()).select_from(Booking).where(Booking.tutor_id == tutor.id))
    server_errors = sum(count for status, count in counts.items() if isinstance(status, int) and status >= 500)
    print(f"[2] {clients} concurrent POST /bookings for one slot ({pool} client threads, threaded WSGI server on "
          f"127.0.0.1:{server.server_port}) in {elapsed:.1f} s: "
          + ", ".join(f"{status}: {count}" for status, count in sorted(counts.items(), key=str))
          + f"; 5xx: {server_errors}; booking rows for the tutor: {rows}")


# --- 3. 10,000 due reminders through one dispatch worker ------------------------------------------------------

def seed_reminders(app, count=10_000):
    from app.common.time import utcnow
    from app.extensions import db
    from app.notifications.models import OutboxMessage

    tutor = make_user("reminder.tutor@bench.test", ["tutor"])
    student = make_user("reminder.student@bench.test", ["student"])
    db.session.commit()
    due = utcnow() - timedelta(minutes=1)
    rows = []
    for index in range(count):
        booking_id, rest = divmod(index, 4)
        offset, user = (1440, 60)[rest // 2], (tutor, student)[rest % 2]
        rows.append({
            "channel": "email", "user_id": user.id, "recipient": user.email, "subject": "Tutorhub reminder",
            "body_text": f"Reminder: session {booking_id} starts in {offset // 60} h.", "attachments": [],
            "kind": "booking_reminder", "dedupe_key": f"reminder:{booking_id + 1}:{offset}:v0:{user.id}:email",
            "status": "pending", "deliver_after": due, "attempts": 0, "created_at": due,
        })
    db.session.execute(sa.insert(OutboxMessage), rows)
    db.session.commit()


def dispatch_worker(outbox_dir):
    """Entry of the worker subprocess: dispatch until nothing is due; print the sent count and seconds."""
    from app import create_app
    from jobs.tasks import dispatch_due_outbox

    app = create_app(make_config(outbox_dir))
    with app.app_context():
        began = time.perf_counter()
        sent = 0
        while True:
            batch = dispatch_due_outbox(limit=500)
            sent += batch
            if batch == 0:
                break
        print(f"{sent} {time.perf_counter() - began:.3f}")


def bench_reminders(app, outbox_dir, count=10_000):
    from app.extensions import db
    from app.notifications.models import OutboxMessage

    seed_reminders(app, count)
    mail_dir = os.path.join(outbox_dir, "reminders")
    env = dict(os.environ, BENCH_DATABASE_URL=BENCH_URL, PYTHONPATH=str(ROOT))
    output = subprocess.run([sys.executable, __file__, "--dispatch-worker", mail_dir], env=env, cwd=str(ROOT),
                            capture_output=True, text=True, check=True).stdout.split()
    sent, seconds = int(output[0]), float(output[1])
    db.session.expire_all()
    stats = db.session.execute(sa.select(OutboxMessage.status, sa.func.count(), sa.func.max(OutboxMessage.attempts))
                               .where(OutboxMessage.kind == "booking_reminder").group_by(OutboxMessage.status)).all()
    files = len([name for name in os.listdir(mail_dir) if name.endswith(".eml")])
    resent = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
        OutboxMessage.kind == "booking_reminder", OutboxMessage.attempts > 1))
    print(f"[3] {count} due reminders, one worker process calling dispatch_due_outbox: {sent} sent in {seconds:.1f} s "
          f"(target < 60 s); .eml files: {files}; rows by status: { {s: c for s, c, _ in stats} }; "
          f"duplicates: {sent - files + resent}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dispatch-worker", metavar="OUTBOX_DIR")
    parser.add_argument("--only", choices=("slots", "bookings", "reminders"))
    parser.add_argument("--clients", type=int, default=500, help="bookings race: requests for the one slot")
    parser.add_argument("--pool", type=int, default=100, help="bookings race: client threads (at most --clients)")
    args = parser.parse_args()
    if args.dispatch_worker:
        return dispatch_worker(args.dispatch_worker)

    import logging

    logging.disable(logging.WARNING)
    ensure_database()
    from app import create_app

    with tempfile.TemporaryDirectory(prefix="tutorhub-bench-") as outbox_dir:
        app = create_app(make_config(outbox_dir))
        with app.app_context():
            reset_schema(app)
            print(f"database: {BENCH_URL}")
            if args.only in (None, "slots"):
                bench_slots(app)
            if args.only in (None, "bookings"):
                bench_concurrent_bookings(app, args.clients, min(args.pool, args.clients))
            if args.only in (None, "reminders"):
                bench_reminders(app, outbox_dir)


if __name__ == "__main__":
    main()
