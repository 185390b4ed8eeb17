"""Processes of the fault tests' own, on the tests' database and a Redis of their own.

    python -m tests.faults.child serve   # prints ``PORT <n>``, then serves the app on 127.0.0.1
    python -m tests.faults.child work    # an RQ worker (no periodic scheduler) on WORKER_QUEUE; ``READY``

Environment: DATABASE_URL, REDIS_URL (also the rate limiter's storage), MAIL_PORT (SMTP on 127.0.0.1; unset: the
file backend), OUTBOX_CLAIM_LEASE_SECONDS, WORKER_QUEUE (a queue name, default "default").
"""
import os
import sys

from config import TestingConfig, normalize_database_url


class ChildConfig(TestingConfig):
    SQLALCHEMY_DATABASE_URI = normalize_database_url(os.environ["DATABASE_URL"])
    REDIS_URL = os.environ["REDIS_URL"]
    RATELIMIT_STORAGE_URI = os.environ["REDIS_URL"]
    JOBS_ASYNC = True
    MAIL_BACKEND = "smtp" if os.environ.get("MAIL_PORT") else "file"
    MAIL_SERVER = "127.0.0.1"
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_OUTBOX_DIR = os.environ.get("MAIL_OUTBOX_DIR", TestingConfig.MAIL_OUTBOX_DIR)
    OUTBOX_CLAIM_LEASE_SECONDS = int(os.environ.get("OUTBOX_CLAIM_LEASE_SECONDS", "300"))


def serve(app):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    print(f"PORT {server.server_port}", flush=True)
    server.serve_forever()


def work(app):
    from rq import Queue, SimpleWorker

    with app.app_context():
        queue = Queue(os.environ.get("WORKER_QUEUE", "default"), connection=app.extensions["redis"])
        worker = SimpleWorker([queue], connection=app.extensions["redis"])
        print("READY", flush=True)
        worker.work()


def main():
    from app import create_app

    mode = sys.argv[1]
    app = create_app(ChildConfig)
    {"serve": serve, "work": work}[mode](app)


if __name__ == "__main__":
    main()
