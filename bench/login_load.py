"""Logins beside live traffic: chat delivery and GET /users/me latency, without and with N logins per second.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/tutorhub_login_bench \
    BENCH_REDIS_URL=redis://127.0.0.1:6379/1 .venv/bin/python bench/login_load.py

The app runs in a child process served as wsgi.py serves production (eventlet, monkey-patched, psycopg's
select-based wait, a TCP_NODELAY listener, the start-up heap frozen), with Config's production argon2 parameters
and the HTTP rate limits off (the logins would hit them). This process holds BENCH_PAIRS pairs of Socket.IO
clients sending BENCH_CHAT_RATE messages/s in all, and one client thread calling GET /users/me (and GET /health)
BENCH_PROBE_RATE times a second. Two phases of BENCH_SECONDS each: quiet, then with BENCH_LOGIN_RATE successful
logins per second (POST /auth/login, each in a thread of its own, on BENCH_LOGIN_USERS accounts), or with
BENCH_LOGIN_RATE=serial one login at a time, back to back.

Printed per phase: chat delivery latency (send -> the peer's ``message:new``) p50/p99/max, /users/me and
/health p50/p99/max, login latency p50/p99. The server listens on 127.0.0.1:BENCH_PORT (default 5111).
Recorded figures: bench/README.md.
"""
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "bench-password-2026-long"
PORT = int(os.environ.get("BENCH_PORT", "5111"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))
PAIRS = int(os.environ.get("BENCH_PAIRS", "20"))
CHAT_RATE = float(os.environ.get("BENCH_CHAT_RATE", "20"))
PROBE_RATE = float(os.environ.get("BENCH_PROBE_RATE", "20"))
# A number: that many logins started per second (open loop). "serial": one login at a time, back to back (a
# closed loop: it never queues more work than the server finishes, so it shows stalls rather than overload).
LOGIN_RATE = os.environ.get("BENCH_LOGIN_RATE", "5")
LOGIN_USERS = int(os.environ.get("BENCH_LOGIN_USERS", "10"))
DEFAULT_DB = "postgresql://postgres@127.0.0.1:5432/tutorhub_login_bench"


def _email(kind, index):
    return f"{kind}-{index}@login-bench.tutorhub.test"


# ---------------------------------------------------------------- server (child process)

def make_app():
    from app import create_app
    from config import Config, normalize_database_url

    class BenchConfig(Config):
        DEBUG = False
        TESTING = False
        SQLALCHEMY_DATABASE_URI = normalize_database_url(os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
        REDIS_URL = os.environ.get("BENCH_REDIS_URL")  # None: fakeredis in-process
        JOBS_ASYNC = False
        RATELIMIT_ENABLED = False
        RATELIMIT_STORAGE_URI = "memory://"
        MESSAGE_RATE_LIMIT = 100000
        MAIL_BACKEND = "file"
        MAIL_OUTBOX_DIR = "/tmp/tutorhub-login-bench/outbox"
        UPLOAD_DIR = "/tmp/tutorhub-login-bench/uploads"
        SOCKETIO_ASYNC_MODE = "eventlet"
        SOCKETIO_MESSAGE_QUEUE = None
        CORS_ORIGINS = "*"
        # ARGON2_* stay at Config's production values.

    return create_app(BenchConfig)


def _ensure_user(email):
    from app.users import services as users

    return users.find_by_email(email) or users.create_user(email, PASSWORD, "Bench User", ["student"], timezone="UTC")


def prepare(app):
    """Migrate, make the accounts and conversations (idempotent); the chat users' and the probe's tokens."""
    from flask_migrate import upgrade

    from app.auth.services import issue_tokens
    from app.common.transactions import unit_of_work
    from app.messaging import services as messaging

    with app.app_context():
        upgrade()
        with unit_of_work():
            for index in range(LOGIN_USERS):
                _ensure_user(_email("login", index))
            probe = _ensure_user(_email("probe", 0))
            chat = [(_ensure_user(_email("a", i)), _ensure_user(_email("b", i))) for i in range(PAIRS)]
        pairs = []
        for a, b in chat:
            with unit_of_work():
                conversation, _ = messaging.get_or_create_pair(a.id, b.id)
                pairs.append({"conversation_id": conversation.id,
                              "a": issue_tokens(a)["access_token"], "b": issue_tokens(b)["access_token"]})
        with unit_of_work():
            probe_token = issue_tokens(probe)["access_token"]
        config = app.config
        argon2 = f"t={config['ARGON2_TIME_COST']} m={config['ARGON2_MEMORY_COST']} KiB p={config['ARGON2_PARALLELISM']}"
        return {"pairs": pairs, "probe": probe_token, "argon2": argon2}


def serve():
    import logging

    os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")  # as wsgi.py does under eventlet
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    import eventlet

    eventlet.monkey_patch()
    logging.disable(logging.WARNING)
    app = make_app()
    spec = prepare(app)
    import eventlet.wsgi

    from app.common.runtime import freeze_startup_heap, nodelay_listener, schedule_full_collections
    from app.extensions import socketio

    freeze_startup_heap()
    schedule_full_collections(app.config.get("GC_FULL_COLLECT_SECONDS"), socketio.start_background_task,
                              socketio.sleep, app.config.get("GC_MIDDLE_THRESHOLD"))
    listener = nodelay_listener("127.0.0.1", PORT)
    print(json.dumps(spec), flush=True)
    eventlet.wsgi.server(listener, app, log_output=False, max_size=10000)


# ---------------------------------------------------------------- load (this process)

class Chat:
    """PAIRS pairs of clients; each send's latency is measured at the peer's ``message:new``."""

    def __init__(self, url, pairs):
        import socketio

        self.latencies, self.errors, self.lock = [], [], threading.Lock()
        self.senders = []
        self.clients = []
        for pair in pairs:
            sides = []
            for key in ("a", "b"):
                client = socketio.Client(reconnection=False)
                client.on("message:new", self._on_new)
                client.connect(url, auth={"token": pair[key]}, transports=["websocket"], wait_timeout=30)
                sides.append(client)
            self.clients.extend(sides)
            self.senders.append((sides[0], pair["conversation_id"]))

    def _on_new(self, data):
        now = time.perf_counter()
        try:
            sent = float(data["body"].split("|", 1)[0])
        except (KeyError, ValueError):
            return
        with self.lock:
            self.latencies.append((now - sent) * 1000)

    def _ack(self, result):
        if not (isinstance(result, dict) and result.get("ok")):
            with self.lock:
                self.errors.append(str(result)[:200])

    def run(self, seconds, rate):
        interval, seq, started = 1 / rate, 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            sender, conversation_id = self.senders[seq % len(self.senders)]
            body = f"{time.perf_counter()}|bench {seq}"
            sender.emit("message:send", {"conversation_id": conversation_id, "body": body,
                                         "client_id": f"lb-{os.getpid()}-{time.time_ns()}-{seq}"}, callback=self._ack)
            seq += 1
            time.sleep(max(started + seq * interval - time.perf_counter(), 0))

    def take(self):
        with self.lock:
            taken, self.latencies = self.latencies, []
            return taken

    def close(self):
        for client in self.clients:
            client.disconnect()


def probe(base, token, seconds, rate):
    """Latencies (ms) of GET /users/me and GET /health, alternately, at `rate` requests/s."""
    session, found = requests.Session(), {"me": [], "health": []}
    headers = {"Authorization": f"Bearer {token}"}
    interval, n, started = 1 / rate, 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        name, url = ("me", f"{base}/api/v1/users/me") if n % 2 == 0 else ("health", f"{base}/api/v1/health")
        t0 = time.perf_counter()
        response = session.get(url, headers=headers if name == "me" else None, timeout=30)
        found[name].append((time.perf_counter() - t0) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url}: {response.status_code} {response.text[:200]}")
        n += 1
        time.sleep(max(started + n * interval - time.perf_counter(), 0))
    return found


def logins(base, seconds, rate, stop_event, out):
    """`rate` logins per second, each in its own thread (a slow login must not slow the schedule); "serial":
    one after the other."""
    threads, n, started = [], 0, time.perf_counter()

    def one(index):
        t0 = time.perf_counter()
        response = requests.post(f"{base}/api/v1/auth/login", timeout=60,
                                 json={"email": _email("login", index % LOGIN_USERS), "password": PASSWORD})
        out.append(((time.perf_counter() - t0) * 1000, response.status_code))

    if rate == "serial":
        while time.perf_counter() - started < seconds and not stop_event.is_set():
            one(n)
            n += 1
        return
    interval = 1 / float(rate)
    while time.perf_counter() - started < seconds and not stop_event.is_set():
        thread = threading.Thread(target=one, args=(n,))
        thread.start()
        threads.append(thread)
        n += 1
        time.sleep(max(started + n * interval - time.perf_counter(), 0))
    for thread in threads:
        thread.join()


def pct(values, q):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * q), len(ordered) - 1)]


def summary(name, values):
    return (f"{name:<11} n={len(values):5d}  p50 {statistics.median(values):7.1f}  p99 {pct(values, 0.99):7.1f}  "
            f"max {max(values):7.1f} ms")


def phase(label, base, spec, chat, login_rate):
    found, login_results, stop = {}, [], threading.Event()
    threads = [threading.Thread(target=lambda: found.update(probe(base, spec["probe"], SECONDS, PROBE_RATE))),
               threading.Thread(target=chat.run, args=(SECONDS, CHAT_RATE))]
    if login_rate:
        threads.append(threading.Thread(target=logins, args=(base, SECONDS, login_rate, stop, login_results)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    time.sleep(1.0)  # the last deliveries
    print(f"-- {label}")
    print("   " + summary("chat", chat.take()))
    print("   " + summary("/users/me", found["me"]))
    print("   " + summary("/health", found["health"]))
    if login_results:
        ok = [ms for ms, status in login_results if status == 200]
        print("   " + summary("login", ok) + f"  ({len(ok)}/{len(login_results)} answered 200, "
              f"{len(login_results) / SECONDS:.1f}/s)")


def main():
    child = subprocess.Popen([sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, cwd=str(ROOT))
    chat = None
    try:
        spec = json.loads(child.stdout.readline())
        base = f"http://127.0.0.1:{PORT}"
        chat = Chat(base, spec["pairs"])
        print(f"login load bench: {PAIRS} chat pairs at {CHAT_RATE:g} msg/s, /users/me + /health at "
              f"{PROBE_RATE:g} req/s, {SECONDS:g} s per phase; argon2id {spec['argon2']}; load average "
              f"{os.getloadavg()[0]:.2f}; database {os.environ.get('BENCH_DATABASE_URL', DEFAULT_DB).split('@')[-1]}, "
              f"redis {os.environ.get('BENCH_REDIS_URL', 'fakeredis')}")
        phase("quiet", base, spec, chat, 0)
        phase("with logins one at a time, back to back" if LOGIN_RATE == "serial" else
              f"with {float(LOGIN_RATE):g} logins/s", base, spec, chat, LOGIN_RATE)
        if chat.errors:
            print(f"refused sends: {len(chat.errors)}, first: {chat.errors[0]}")
        print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    finally:
        if chat is not None:
            chat.close()
        child.terminate()
        child.wait(timeout=10)


if __name__ == "__main__":
    if "--serve" in sys.argv:
        serve()
    else:
        main()
