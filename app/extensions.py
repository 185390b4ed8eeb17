"""Unbound extensions, bound to the app in create_app."""
import fakeredis
import flask_smorest
import redis
from flask_cors import CORS
from flask_jwt_extended import JWTManager
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_socketio import SocketIO
from flask_sqlalchemy import SQLAlchemy
from rq import Queue
from sqlalchemy import MetaData

# Named constraints so Alembic can alter them on every backend (SQLite batch mode included).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class RedisClient:
    """One Redis connection per app: REDIS_URL when set, else an in-process fakeredis server."""

    def __init__(self):
        self._client = None

    def init_app(self, app):
        url = app.config.get("REDIS_URL")
        if url:
            # A burst (hundreds of Socket.IO events in flight) waits for a free connection instead of failing
            # with MaxConnectionsError, which redis-py's default pool raises past 100 connections.
            pool = redis.BlockingConnectionPool.from_url(
                url, max_connections=app.config.get("REDIS_MAX_CONNECTIONS", 100),
                timeout=app.config.get("REDIS_POOL_TIMEOUT", 10))
            client = redis.Redis(connection_pool=pool)
        else:
            client = fakeredis.FakeRedis(server=fakeredis.FakeServer())
        app.extensions["redis"] = client
        self._client = client

    @property
    def client(self):
        from flask import current_app

        return current_app.extensions["redis"]


class JobQueues:
    """RQ queues bound to the app's Redis. Without a worker (JOBS_ASYNC off) jobs run at enqueue time."""

    NAMES = ("high", "default", "low")

    def init_app(self, app):
        connection = app.extensions["redis"]
        is_async = app.config.get("JOBS_ASYNC", False)
        app.extensions["queues"] = {
            name: Queue(name, connection=connection, is_async=is_async) for name in self.NAMES
        }

    def __getitem__(self, name):
        from flask import current_app

        return current_app.extensions["queues"][name]


db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
migrate = Migrate()
jwt = JWTManager()


class Api(flask_smorest.Api):
    """No catch-all ``default`` error response: every operation documents the error codes it can answer."""

    DEFAULT_ERROR_RESPONSE_NAME = None


api = Api()
cors = CORS()
limiter = Limiter(key_func=get_remote_address)
socketio = SocketIO()
redis_client = RedisClient()
queues = JobQueues()
