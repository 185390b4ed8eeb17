"""Chat bench: N Socket.IO clients in pairs on ONE server process, messages at a fixed total rate.

Prints delivery latency p50/p99 (send -> the peer's `message:new`), messages/s, and persisted vs. acknowledged
counts (must be equal), for the Tutorhub app and, in the same run, a bare python-socketio echo server that
relays to the peer without any database or auth (the floor this machine allows).

    python bench/chat.py                          # 1,000 clients, threading server, then the echo server
    python bench/chat.py --clients 200 --mode both  # threading and eventlet servers
    BENCH_DATABASE_URL=postgresql://... python bench/chat.py

Both servers are served as wsgi.py serves the app (eventlet: a TCP_NODELAY listener; the app also with its
start-up heap frozen and its garbage collection schedule).

Clients run as several worker processes of threaded python-socketio clients (aiohttp is not installed, so
no AsyncClient); they share the 2 cores with the server, which the figures include.
"""
import argparse
import heapq
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_DB = "postgresql://postgres@127.0.0.1:5432/tutorhub_messaging"
BENCH_EMAIL = "bench-{i}@bench.tutorhub.test"
ECHO = "echo"


# ---------------------------------------------------------------- servers (run as subprocesses)

def _bench_config():
    from config import DevelopmentConfig, normalize_database_url

    class BenchConfig(DevelopmentConfig):
        DEBUG = False
        SQLALCHEMY_DATABASE_URI = normalize_database_url(os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
        SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 30, "max_overflow": 30, "pool_timeout": 60}  # noqa: RUF012
        REDIS_URL = os.environ.get("BENCH_REDIS_URL")
        SOCKETIO_MESSAGE_QUEUE = None
        SOCKETIO_ASYNC_MODE = os.environ.get("SOCKETIO_ASYNC_MODE", "threading")
        JOBS_ASYNC = False
        CORS_ORIGINS = "*"
        MESSAGE_RATE_LIMIT = 1000
        JWT_ACCESS_TOKEN_EXPIRES = __import__("datetime").timedelta(hours=2)

    return BenchConfig


def _echo_app(async_mode):
    import socketio

    server = socketio.Server(async_mode=async_mode, cors_allowed_origins="*")

    @server.on("connect")
    def connect(sid, _environ, auth):
        server.enter_room(sid, f"pair:{auth['pair']}")

    @server.on("message:send")
    def send(sid, data):
        server.emit("message:new", data, to=f"pair:{data['conversation_id']}", skip_sid=sid)
        return {"ok": True}

    return socketio.WSGIApp(server)


def serve(kind, async_mode):
    """Print `PORT <n>` and serve the app (or the echo server) on 127.0.0.1 until killed."""
    if async_mode == "eventlet":
        import eventlet

        eventlet.monkey_patch()
    if kind == ECHO:
        wsgi_app = _echo_app(async_mode)
    else:
        from app import create_app

        wsgi_app = create_app(_bench_config())
    if kind != ECHO:
        from app.common.runtime import freeze_startup_heap, schedule_full_collections
        from app.extensions import socketio

        freeze_startup_heap()  # as wsgi.py does before serving, and its garbage collection schedule
        schedule_full_collections(wsgi_app.config.get("GC_FULL_COLLECT_SECONDS"), socketio.start_background_task,
                                  socketio.sleep, wsgi_app.config.get("GC_MIDDLE_THRESHOLD"))
    if async_mode == "eventlet":
        import eventlet
        import eventlet.wsgi

        from app.common.runtime import nodelay_listener

        sock = nodelay_listener("127.0.0.1", 0)  # as wsgi.py serves (both servers: the same sockets)
        print(f"PORT {sock.getsockname()[1]}", flush=True)
        eventlet.wsgi.server(sock, wsgi_app, log_output=False, max_size=10000)
    else:
        import logging

        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.CRITICAL)  # frames read after a ws close
        server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
        server.socket.listen(2048)  # a deeper backlog for 1,000 clients connecting at once
        print(f"PORT {server.server_port}", flush=True)
        server.serve_forever()


# ---------------------------------------------------------------- client workers (subprocesses)

class _ClientWorker:
    """One client process's sockets and what they saw: delivery latencies, counts, the first errors."""

    def __init__(self, spec):
        self.spec = spec
        self.latencies, self.errors = [], []
        self.counts = {"sent": 0, "acked": 0, "refused": 0, "received": 0}
        self.lock = threading.Lock()
        self.clients = []

    def on_new(self, data):
        now = time.time()
        try:
            sent_at = float(data["body"].split("|", 1)[0])
        except (KeyError, ValueError):
            return
        with self.lock:
            self.latencies.append((now - sent_at) * 1000)
            self.counts["received"] += 1

    def on_ack(self, result):
        with self.lock:
            if isinstance(result, dict) and result.get("ok"):
                self.counts["acked"] += 1
            else:
                self.counts["refused"] += 1
                if len(self.errors) < 5:
                    self.errors.append(str(result)[:200])

    def connect(self, token, pair_id):
        import socketio

        client = socketio.Client(reconnection=False)
        client.on("message:new", self.on_new)
        auth = {"token": token, "pair": pair_id}
        for attempt in range(5):
            try:
                client.connect(self.spec["url"], auth=auth, transports=["websocket"], wait_timeout=30)
                return client
            except socketio.exceptions.ConnectionError as error:  # a busy server may refuse a few: retry
                if attempt == 4:
                    self.errors.append(f"connect: {error}")
                    return None
                time.sleep(0.5 + attempt)
        return None

    def connect_pairs(self):
        """[(sender client, conversation id)] of the pairs whose two sockets connected; prints the ready line."""
        from concurrent.futures import ThreadPoolExecutor

        connect_started = time.time()
        with ThreadPoolExecutor(max_workers=16) as pool:  # connect in parallel, a few at a time
            made = list(pool.map(lambda p: (self.connect(p["a"], p["conversation_id"]),
                                            self.connect(p["b"], p["conversation_id"]), p["conversation_id"]),
                                 self.spec["pairs"]))
        self.clients = [c for sender, receiver, _ in made for c in (sender, receiver) if c is not None]
        senders = [(sender, cid) for sender, receiver, cid in made if sender is not None and receiver is not None]
        print(json.dumps({"ready": len(self.clients), "connect_s": round(time.time() - connect_started, 1)}),
              flush=True)
        return senders

    def send_on_schedule(self, senders):
        """Each sender sends every ``interval`` seconds, staggered, from ``start_at`` for ``duration``."""
        import socketio

        start_at, interval = self.spec["start_at"], self.spec["interval"]
        schedule = [(start_at + interval * i / max(len(senders), 1), i) for i in range(len(senders))]
        heapq.heapify(schedule)
        end = start_at + self.spec["duration"]
        seq = 0
        while schedule:
            due, index = heapq.heappop(schedule)
            if due >= end:
                continue
            time.sleep(max(0, due - time.time()))
            client, conversation_id = senders[index]
            seq += 1
            try:
                client.emit("message:send", {"conversation_id": conversation_id, "body": f"{time.time():.6f}|bench",
                                             "client_id": f"b{os.getpid()}-{seq}"}, callback=self.on_ack)
                self.counts["sent"] += 1
            except socketio.exceptions.SocketIOError as error:
                self.errors.append(f"emit: {error}")
            heapq.heappush(schedule, (due + interval, index))


def client_worker(spec):
    """Connect this worker's pairs, send at the scheduled times, print a JSON result."""
    worker = _ClientWorker(spec)
    worker.send_on_schedule(worker.connect_pairs())
    time.sleep(spec.get("drain", 5))
    with worker.lock:
        print(json.dumps({"latencies": worker.latencies, "counts": worker.counts, "errors": worker.errors}),
              flush=True)
    os._exit(0)  # hundreds of sequential disconnects take long; the server drops the sockets itself


# ---------------------------------------------------------------- orchestration

def prepare(n_pairs):
    """Create 2*n_pairs bench users and their conversations (idempotent); return [{a, b, conversation_id}]."""
    import sqlalchemy as sa
    from flask_jwt_extended import create_access_token
    from flask_migrate import upgrade

    from app import create_app
    from app.common.security import hash_password
    from app.extensions import db
    from app.messaging.models import Conversation, ConversationParticipant, Message
    from app.users.models import User, UserRole

    app = create_app(_bench_config())
    with app.app_context():
        upgrade()
        wanted = [BENCH_EMAIL.format(i=i) for i in range(2 * n_pairs)]
        existing = set(db.session.scalars(sa.select(User.email).where(User.email.in_(wanted))))
        password = hash_password("bench-password-2026")
        for email in wanted:
            if email not in existing:
                user = User(email=email, password_hash=password, full_name=email.split("@")[0])
                user.role_rows = [UserRole(role="student")]
                db.session.add(user)
        db.session.commit()
        ids = dict(db.session.execute(sa.select(User.email, User.id).where(User.email.in_(wanted))).all())
        bench_ids = list(ids.values())
        conversation_ids = sa.select(ConversationParticipant.conversation_id).where(
            ConversationParticipant.user_id.in_(bench_ids))
        db.session.execute(sa.delete(Message).where(Message.conversation_id.in_(conversation_ids)))
        db.session.commit()
        pairs = []
        for k in range(n_pairs):
            a, b = ids[wanted[2 * k]], ids[wanted[2 * k + 1]]
            low, high = sorted((a, b))
            conversation = db.session.scalar(sa.select(Conversation).where(
                Conversation.user_low_id == low, Conversation.user_high_id == high))
            if conversation is None:
                conversation = Conversation(kind="pair", user_low_id=low, user_high_id=high)
                conversation.participants = [ConversationParticipant(user_id=low),
                                             ConversationParticipant(user_id=high)]
                db.session.add(conversation)
                db.session.flush()
            pairs.append({"a": create_access_token(identity=str(a), additional_claims={"tv": 1}),
                          "b": create_access_token(identity=str(b), additional_claims={"tv": 1}),
                          "a_id": a, "b_id": b, "conversation_id": conversation.id})
        db.session.commit()
    return pairs


def persisted_count(pairs):
    import sqlalchemy as sa

    from app import create_app
    from app.extensions import db
    from app.messaging.models import Message

    app = create_app(_bench_config())
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(Message.id)).where(
            Message.conversation_id.in_([p["conversation_id"] for p in pairs]), Message.body.like("%|bench")))


def clear_messages(pairs):
    import sqlalchemy as sa

    from app import create_app
    from app.extensions import db
    from app.messaging.models import Message
    from app.notifications.models import Notification

    app = create_app(_bench_config())
    with app.app_context():
        db.session.execute(sa.delete(Message).where(Message.conversation_id.in_([p["conversation_id"] for p in pairs])))
        db.session.execute(sa.delete(Notification).where(Notification.user_id.in_(
            [uid for p in pairs for uid in (p["a_id"], p["b_id"])])))
        db.session.commit()


def _cpu_seconds(pid):
    """User + system CPU time of a process so far (Linux /proc), or None elsewhere."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _runqueue_wait_seconds(pid):
    """Time the process's threads spent runnable but waiting for a CPU so far (Linux schedstat), or None."""
    total = 0
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/schedstat") as handle:
                total += int(handle.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return total / 1e9


def _start(args, env):
    process = subprocess.Popen([sys.executable, __file__, *args], cwd=ROOT, env=env,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    return process


def run_round(label, kind, async_mode, pairs, opts):
    env = dict(os.environ, SOCKETIO_ASYNC_MODE=async_mode)
    if async_mode == "eventlet":
        env["PSYCOPG_WAIT_FUNC"] = "wait_select"  # psycopg's C wait would block eventlet's hub
    server = _start(["--serve", kind, "--async-mode", async_mode], env)
    port = int(server.stdout.readline().split()[1])
    workers = []
    try:
        chunks = [pairs[i::opts.workers] for i in range(opts.workers)]
        interval = len(pairs) / opts.rate  # seconds between two sends of one sender
        start_at = time.time() + 15 + len(pairs) * 0.08
        for chunk in chunks:
            worker = _start(["--client-worker"], os.environ)
            worker.stdin.write(json.dumps({"url": f"http://127.0.0.1:{port}", "pairs": chunk, "start_at": start_at,
                                           "interval": interval, "duration": opts.duration}))
            worker.stdin.close()
            workers.append(worker)
        readies = [json.loads(w.stdout.readline()) for w in workers]
        cpu_before = [_cpu_seconds(p.pid) for p in (server, *workers)]
        waited_before = _runqueue_wait_seconds(server.pid)
        window_start = max(time.time(), start_at)
        ready = sum(r["ready"] for r in readies)
        print(f"  {label}: {ready} sockets connected in {max(r['connect_s'] for r in readies)}s", flush=True)
        if time.time() > start_at:
            print(f"  warning: connecting took longer than planned ({time.time() - start_at:.1f}s late)")
        results = [json.loads(w.stdout.readline()) for w in workers]
        cpu_after = [_cpu_seconds(p.pid) for p in (server, *workers)]
        waited_after = _runqueue_wait_seconds(server.pid)
        window = time.time() - window_start
    finally:
        for w in workers:
            w.wait(60)
        server.terminate()
        server.wait(10)
    latencies = sorted(x for r in results for x in r["latencies"])
    counts = {k: sum(r["counts"][k] for r in results) for k in results[0]["counts"]}
    errors = [e for r in results for e in r["errors"]][:3]
    persisted = persisted_count(pairs) if kind != ECHO else None

    def pct(p):
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] if latencies else float("nan")

    line = (f"{label:<22} sockets={ready:<5} sent={counts['sent']:<6} acked={counts['acked']:<6} "
            f"refused={counts['refused']:<4} delivered={counts['received']:<6} "
            f"msg/s={counts['received'] / opts.duration:7.1f}  p50={pct(50):6.1f}ms  p99={pct(99):7.1f}ms  "
            f"max={latencies[-1] if latencies else float('nan'):7.1f}ms")
    if None not in cpu_before + cpu_after:
        # CPU from the end of connecting to the end of the drain: the server's per delivered message, and the
        # clients' share of the machine (they compete with the server for the same cores).
        server_cpu = cpu_after[0] - cpu_before[0]
        clients_cpu = sum(cpu_after[1:]) - sum(cpu_before[1:])
        line += (f"  server_cpu={1000 * server_cpu / max(counts['received'], 1):.2f}ms/msg"
                 f" ({100 * server_cpu / window:.0f}% of a core)  clients_cpu={100 * clients_cpu / window:.0f}%")
    if None not in (waited_before, waited_after):
        # Runnable but not running: the server waiting for a core the rest of the machine holds.
        line += f"  server_runq_wait={100 * (waited_after - waited_before) / window:.0f}%"
    if persisted is not None:
        line += f"  persisted={persisted} ({'== acked' if persisted == counts['acked'] else 'MISMATCH'})"
    print(line, flush=True)
    if errors:
        print(f"  errors: {errors}")
    return {"p50": pct(50), "p99": pct(99), "mean": statistics.fmean(latencies) if latencies else None}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000, help="connected sockets (pairs = clients/2)")
    parser.add_argument("--rate", type=float, default=200, help="messages per second in total")
    parser.add_argument("--duration", type=float, default=20, help="seconds of sending")
    parser.add_argument("--workers", type=int, default=4, help="client processes")
    parser.add_argument("--mode", choices=("threading", "eventlet", "both"), default="threading")
    parser.add_argument("--serve", choices=("app", ECHO))
    parser.add_argument("--async-mode", default="threading")
    parser.add_argument("--client-worker", action="store_true")
    opts = parser.parse_args()
    if opts.serve:
        return serve(opts.serve, opts.async_mode)
    if opts.client_worker:
        return client_worker(json.load(sys.stdin))

    pairs = prepare(opts.clients // 2)
    modes = ("threading", "eventlet") if opts.mode == "both" else (opts.mode,)
    print(f"chat bench: {len(pairs) * 2} sockets in {len(pairs)} pairs, {opts.rate:g} msg/s for "
          f"{opts.duration:g}s, {opts.workers} client processes, {os.cpu_count()} cores")
    for mode in modes:
        clear_messages(pairs)
        run_round(f"tutorhub/{mode}", "app", mode, pairs, opts)
        run_round(f"bare-echo/{mode}", ECHO, mode, pairs, opts)


if __name__ == "__main__":
    main()
