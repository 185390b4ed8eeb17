"""Auth throughput: POST /auth/login, authenticated GET /users/me, and a bare JSON route, over real HTTP.

    .venv/bin/python bench/auth.py                 # SQLite temp file, fakeredis
    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/tutorhub_auth_bench \
    BENCH_REDIS_URL=redis://127.0.0.1:6379/1 .venv/bin/python bench/auth.py
    BENCH_SERVER=threaded .venv/bin/python bench/auth.py   # werkzeug's development server instead

The app runs in a child process on a free 127.0.0.1 port, served the way wsgi.py serves it in production
(Procfile's web process): eventlet's WSGI server on a TCP_NODELAY listener, psycopg's select-based wait, the
start-up heap frozen and full collections on a schedule. ``BENCH_SERVER=threaded`` serves it with werkzeug's
threaded development server instead (what ``make run`` uses), where every blocking round trip of a request
also waits for the GIL held by the other request threads. Production argon2 parameters, rate limits off. This
process drives it with BENCH_THREADS client threads for BENCH_SECONDS per endpoint (/users/me and the bare
route in alternating one-second rounds). The bare route is registered on the same app, so it pays the same
middleware (CORS, limiter hooks, Socket.IO wrapper): the ratio isolates what auth + the query + the schema cost.
The server's CPU time per request is printed too (Linux), read from the child's /proc entry.

Target: GET /users/me at >= 0.5x the bare route's requests/s on the production server (the default, eventlet).
Recorded figures: bench/README.md.
"""
import os
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EMAIL = "bench.user@tutorhub.test"
PASSWORD = "bench-password-2026-long"
SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))
THREADS = int(os.environ.get("BENCH_THREADS", "4"))
# "eventlet": as wsgi.py serves in production; "threaded": werkzeug's development server (a thread per connection).
SERVER = os.environ.get("BENCH_SERVER", "eventlet")
SERVER_NAMES = {"eventlet": "eventlet, as wsgi.py serves in production", "threaded": "werkzeug threaded, development"}
if SERVER not in SERVER_NAMES:
    raise SystemExit(f"BENCH_SERVER must be one of {', '.join(SERVER_NAMES)}")


def make_app(tmpdir):
    from flask import jsonify

    from app import create_app
    from config import Config, normalize_database_url

    class BenchConfig(Config):
        DEBUG = False
        TESTING = False
        SQLALCHEMY_DATABASE_URI = normalize_database_url(
            os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tmpdir}/bench.db"
        )
        REDIS_URL = os.environ.get("BENCH_REDIS_URL")  # None: fakeredis in-process
        JOBS_ASYNC = False
        RATELIMIT_ENABLED = False
        RATELIMIT_STORAGE_URI = "memory://"
        MAIL_BACKEND = "file"
        MAIL_OUTBOX_DIR = f"{tmpdir}/outbox"
        UPLOAD_DIR = f"{tmpdir}/uploads"
        SOCKETIO_ASYNC_MODE = "eventlet" if SERVER == "eventlet" else "threading"
        SOCKETIO_MESSAGE_QUEUE = None
        # ARGON2_* stay at Config's production values: login is meant to be slow.

    app = create_app(BenchConfig)

    @app.route("/api/v1/bench/bare")
    def bare():
        return jsonify({"ok": True, "message": "bare Flask JSON route"})

    return app


def prepare(app):
    """Migrate and make sure the bench user exists (idempotent, so a shared database is fine)."""
    from flask_migrate import upgrade

    from app.extensions import db
    from app.users import services as users

    with app.app_context():
        upgrade()
        if users.find_by_email(EMAIL) is None:
            users.create_user(EMAIL, PASSWORD, "Bench User", ["student"], timezone="Europe/Paris")
            db.session.commit()


def serve():
    """Child process: build the app, print the port, serve until killed."""
    import logging

    if SERVER == "eventlet":
        # As wsgi.py does in production: psycopg 3's C wait function would block eventlet's hub (every
        # database round trip would stall all requests); its select-based one cooperates.
        os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")
        warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")  # said once in wsgi.py's log
        import eventlet

        eventlet.monkey_patch()
    logging.disable(logging.WARNING)
    tmpdir = tempfile.mkdtemp(prefix="tutorhub-bench-")
    app = make_app(tmpdir)
    prepare(app)
    from app.common.runtime import freeze_startup_heap, schedule_full_collections
    from app.extensions import socketio

    freeze_startup_heap()
    schedule_full_collections(app.config.get("GC_FULL_COLLECT_SECONDS"), socketio.start_background_task,
                              socketio.sleep, app.config.get("GC_MIDDLE_THRESHOLD"))
    if SERVER == "eventlet":
        import eventlet.wsgi

        from app.common.runtime import nodelay_listener

        listener = nodelay_listener("127.0.0.1", 0)
        print(listener.getsockname()[1], flush=True)
        eventlet.wsgi.server(listener, app, log_output=False)
    else:
        from werkzeug.serving import make_server

        server = make_server("127.0.0.1", 0, app, threaded=True)
        print(server.server_port, flush=True)
        server.serve_forever()


def process_cpu_seconds(pid):
    """User + system CPU time of a process, from /proc (None where there is no /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def hammer(method, url, seconds, threads, **kwargs):
    """Requests per second from `threads` client threads for `seconds`; every answer must be 200."""
    counts, errors = [0] * threads, []
    stop = time.perf_counter() + seconds

    def worker(index):
        session = requests.Session()
        while time.perf_counter() < stop:
            response = session.request(method, url, **kwargs)
            if response.status_code != 200:
                errors.append(f"{response.status_code} {response.text[:200]}")
                return
            counts[index] += 1

    started = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise SystemExit(f"{url}: {errors[0]}")
    return sum(counts) / elapsed, sum(counts)


def main():
    child = subprocess.Popen([sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, cwd=str(ROOT))
    try:
        port = int(child.stdout.readline())
        base = f"http://127.0.0.1:{port}/api/v1"
        login = requests.post(f"{base}/auth/login", json={"email": EMAIL, "password": PASSWORD}, timeout=30)
        login.raise_for_status()
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        database = os.environ.get("BENCH_DATABASE_URL", "sqlite (temp file)").split("@")[-1]
        print(f"Tutorhub auth bench: {THREADS} client threads, {SECONDS:g} s per endpoint, database {database}, "
              f"redis {os.environ.get('BENCH_REDIS_URL', 'fakeredis')}, server {SERVER_NAMES[SERVER]}")
        login_rps, login_n = hammer("POST", f"{base}/auth/login", SECONDS, THREADS,
                                    json={"email": EMAIL, "password": PASSWORD})
        # Alternate one-second rounds, so load from other processes on the machine hits both alike.
        me_n = bare_n = 0
        me_time = bare_time = 0.0
        me_cpu = bare_cpu = 0.0
        for _ in range(max(int(SECONDS), 1)):
            before = process_cpu_seconds(child.pid)
            rps, count = hammer("GET", f"{base}/users/me", 1.0, THREADS, headers=headers)
            middle = process_cpu_seconds(child.pid)
            me_n, me_time = me_n + count, me_time + count / rps
            rps, count = hammer("GET", f"{base}/bench/bare", 1.0, THREADS)
            after = process_cpu_seconds(child.pid)
            bare_n, bare_time = bare_n + count, bare_time + count / rps
            if before is not None:
                me_cpu, bare_cpu = me_cpu + middle - before, bare_cpu + after - middle
        me_rps, bare_rps = me_n / me_time, bare_n / bare_time
        print(f"POST /auth/login (production argon2id):     {login_rps:8.1f} req/s  ({login_n} requests)")
        print(f"GET  /users/me (authenticated):              {me_rps:8.1f} req/s  ({me_n} requests)")
        print(f"GET  bare Flask JSON route:                  {bare_rps:8.1f} req/s  ({bare_n} requests)")
        if me_cpu:
            print(f"server CPU per request: /users/me {me_cpu / me_n * 1000:.2f} ms, bare {bare_cpu / bare_n * 1000:.2f} ms")
        print(f"ratio /users/me / bare: {me_rps / bare_rps:.2f} (target >= 0.5)")
    finally:
        child.terminate()
        child.wait(timeout=10)


if __name__ == "__main__":
    if "--serve" in sys.argv:
        serve()
    else:
        main()
