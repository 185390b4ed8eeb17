"""A test server process: `python -m tests.messaging.serve` prints `PORT <n>` and serves on 127.0.0.1.

Environment: DATABASE_URL, REDIS_URL, SOCKETIO_MESSAGE_QUEUE, SOCKETIO_CHANNEL (the two-process test sets them).
"""
import os
import sys

from werkzeug.serving import make_server

from config import TestingConfig, normalize_database_url


class ServeConfig(TestingConfig):
    SQLALCHEMY_DATABASE_URI = normalize_database_url(os.environ["DATABASE_URL"])
    REDIS_URL = os.environ.get("REDIS_URL")
    SOCKETIO_MESSAGE_QUEUE = os.environ.get("SOCKETIO_MESSAGE_QUEUE")
    SOCKETIO_CHANNEL = os.environ.get("SOCKETIO_CHANNEL", "flask-socketio")
    CORS_ORIGINS = "*"


def main():
    from app import create_app

    app = create_app(ServeConfig)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    print(f"PORT {server.server_port}", flush=True)
    sys.stdout.close()
    server.serve_forever()


if __name__ == "__main__":
    main()
