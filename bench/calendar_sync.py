"""One RQ worker syncs 1,000 connected Google calendars; prints the time and the HTTP calls per calendar.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/tutorhub_calsync_bench \
    BENCH_REDIS_URL=redis://127.0.0.1:6379/11 .venv/bin/python bench/calendar_sync.py

    BENCH_CALENDARS=1000       connected calendars (one user each)
    BENCH_EVENTS=120           mean events per calendar in the 90-day window (each calendar 25..2.5x mean)
    BENCH_CHANGES=3            mean changed events per calendar between two incremental pulls

Google is stubbed at the transport (an httplib2-like object answering the Calendar API's list calls with
generated events, 250 per page, sync tokens), so the real googleapiclient and sync code runs. Round 1 is the
first (full) pull of every calendar, round 2 an incremental pull (sync token) of every calendar, both as
``jobs.tasks.pull_calendar`` jobs on real Redis run by one ``SimpleWorker`` in burst mode.
"""
import json
import os
import random
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httplib2
import psycopg
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config import TestingConfig, normalize_database_url  # noqa: E402  (the repository root is on the path now)

BENCH_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/tutorhub_calsync_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
CALENDARS = int(os.environ.get("BENCH_CALENDARS", "1000"))
EVENTS = int(os.environ.get("BENCH_EVENTS", "120"))
CHANGES = int(os.environ.get("BENCH_CHANGES", "3"))
PAGE = 250


class BenchConfig(TestingConfig):
    TESTING = False
    SQLALCHEMY_DATABASE_URI = normalize_database_url(BENCH_URL)
    REDIS_URL = REDIS_URL
    JOBS_ASYNC = True
    MAIL_OUTBOX_DIR = tempfile.mkdtemp(prefix="calsync-bench-")
    GOOGLE_CLIENT_ID = "bench-client"
    GOOGLE_CLIENT_SECRET = "bench-secret"  # noqa: S105 (a stub's)


class FakeGoogle:
    """The Calendar API's events.list for many calendars (told apart by the access token), at the transport."""

    def __init__(self, now):
        self.now, self.calls, self.lock = now, 0, threading.Lock()
        self.rng = random.Random(7)
        self.sizes = {}

    def _events(self, calendar, count, changed=False):
        rng = random.Random(calendar * 1000 + (1 if changed else 0))
        items = []
        for n in range(count):
            start = self.now + timedelta(hours=rng.randrange(1, 90 * 24))
            kind = rng.random()
            item = {"id": f"c{calendar}e{n}{'x' if changed else ''}", "status": "confirmed",
                    "start": {"dateTime": start.isoformat()},
                    "end": {"dateTime": (start + timedelta(minutes=rng.choice((30, 60, 90)))).isoformat()}}
            if kind < 0.1:
                item["transparency"] = "transparent"
            elif kind < 0.15:
                item["status"] = "cancelled"
            items.append(item)
        return items

    def request(self, uri, method="GET", body=None, headers=None, redirections=1, connection_type=None):
        with self.lock:
            self.calls += 1
        calendar = int(headers["authorization"].rsplit("-", 1)[1])
        query = {k: v[0] for k, v in parse_qs(urlparse(uri).query).items()}
        if "syncToken" in query:
            changed = max(0, int(random.Random(calendar).gauss(CHANGES, 2)))
            payload = {"items": self._events(calendar, changed, changed=True), "nextSyncToken": f"s{calendar}-2"}
        else:
            size = self.sizes.setdefault(calendar, random.Random(calendar).randint(EVENTS // 4, EVENTS * 5 // 2))
            page = int(query.get("pageToken", "0"))
            items = self._events(calendar, size)[page * PAGE:(page + 1) * PAGE]
            payload = {"items": items}
            if (page + 1) * PAGE < size:
                payload["nextPageToken"] = str(page + 1)
            else:
                payload["nextSyncToken"] = f"s{calendar}-1"
        return httplib2.Response({"status": "200", "content-type": "application/json"}), json.dumps(payload).encode()


def ensure_database():
    base, _, name = BENCH_URL.rpartition("/")
    if not BENCH_URL.startswith("postgresql"):
        return
    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            connection.execute(f'CREATE DATABASE "{name}"')


def seed(app):
    from flask_migrate import upgrade

    from app.calendars.connections import seal_tokens
    from app.calendars.models import CalendarConnection
    from app.calendars.providers.base import Tokens
    from app.extensions import db
    from app.users.models import User

    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as connection:
            connection.execute(sa.text("DROP SCHEMA public CASCADE"))
            connection.execute(sa.text("CREATE SCHEMA public"))
    upgrade(directory=str(ROOT / "migrations"))
    expires = datetime.now(UTC) + timedelta(hours=6)
    users = [User(email=f"cal{n}@bench.local", full_name=f"Calendar {n}", password_hash="x", timezone="UTC")
             for n in range(CALENDARS)]
    db.session.add_all(users)
    db.session.flush()
    db.session.add_all(CalendarConnection(user_id=user.id, provider="google", tokens_encrypted=seal_tokens(
        Tokens(access_token=f"bench-{user.id}", refresh_token="r", expires_at=expires))) for user in users)
    db.session.commit()
    return db.session.scalars(sa.select(CalendarConnection.id).order_by(CalendarConnection.id)).all()


def run_round(app, ids, fake, label):
    from rq import SimpleWorker

    from app.calendars.models import CalendarConnection
    from app.extensions import db

    queue = app.extensions["queues"]["low"]
    queue.empty()
    for connection_id in ids:
        queue.enqueue("jobs.tasks.pull_calendar", connection_id)
    calls_before, started = fake.calls, time.perf_counter()
    SimpleWorker([queue], connection=app.extensions["redis"]).work(burst=True)
    elapsed = time.perf_counter() - started
    calls = fake.calls - calls_before
    db.session.rollback()
    synced = db.session.scalar(sa.select(sa.func.count()).select_from(CalendarConnection).where(
        CalendarConnection.sync_cursor.like(f"%-{1 if label == 'full' else 2}")))
    blocks = db.session.scalar(sa.text("SELECT count(*) FROM busy_blocks"))
    print(f"{label:12} {len(ids)} calendars in {elapsed:6.1f} s  ({elapsed / len(ids) * 1000:5.1f} ms/calendar, "
          f"{len(ids) / elapsed:5.1f} calendars/s)  HTTP calls {calls} ({calls / len(ids):.2f}/calendar)  "
          f"synced {synced}  busy blocks {blocks}")


def main():
    import logging

    logging.getLogger("rq.worker").setLevel(logging.WARNING)
    from app import create_app

    ensure_database()
    app = create_app(BenchConfig)
    with app.app_context():
        ids = seed(app)
        fake = FakeGoogle(datetime.now(UTC).replace(minute=0, second=0, microsecond=0))
        app.extensions["calendar_transports"] = {"google": lambda: fake}
        print(f"{CALENDARS} calendars, ~{EVENTS} events each (25%..250%), ~{CHANGES} changes per incremental pull; "
              f"database {BENCH_URL.rsplit('/', 1)[-1]}, one SimpleWorker")
        run_round(app, ids, fake, "full")
        run_round(app, ids, fake, "incremental")


if __name__ == "__main__":
    main()
