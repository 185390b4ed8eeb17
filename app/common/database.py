"""Connection-pool liveness: ping a pooled connection only when it has sat idle long enough to have died.

SQLAlchemy's ``pool_pre_ping`` pings on every checkout: one extra database round trip per request, on
connections that were in use milliseconds ago. Connections die of idleness (server or proxy timeouts,
restarts while nobody was looking), so here a checkout pings only a connection that has been idle for
``DATABASE_PING_IDLE_SECONDS``; one found dead is replaced by the pool before the request sees it. A server
restart under steady traffic is still caught by SQLAlchemy's disconnect handling, which invalidates the pool.
"""
import time
import weakref

from sqlalchemy import event, exc


def ping_idle_connections(engine, idle_seconds):
    dbapi_error = engine.dialect.loaded_dbapi.Error

    @event.listens_for(engine, "checkin")
    def _remember_idle_start(_dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, _proxy):
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return  # a new connection, or one in use a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except dbapi_error as error:
            # The pool discards this connection and checks out a fresh one (it retries once).
            raise exc.DisconnectionError(f"connection idle for {idle_seconds}s or more failed its ping") from error


_AUTOCOMMIT_ENGINES = weakref.WeakKeyDictionary()


def autocommit_engine(engine):
    """The engine sharing ``engine``'s pool whose connections run in autocommit: a statement is its own
    transaction, with no BEGIN/COMMIT/ROLLBACK round trips around it (and no ROLLBACK to make psycopg forget
    its prepared statements). For single statements run without a Session: the auth user lookup, a socket send.
    """
    variant = _AUTOCOMMIT_ENGINES.get(engine)
    if variant is None:
        variant = _AUTOCOMMIT_ENGINES[engine] = engine.execution_options(isolation_level="AUTOCOMMIT")
    return variant
