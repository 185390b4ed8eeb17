"""Connection-pool liveness (ping a pooled connection only when it has sat idle long enough to have died), the
autocommit twin of an engine, and transaction-scoped locks that serialise writers sharing a key (``lock_keys``).

SQLAlchemy's ``pool_pre_ping`` pings on every checkout: one extra database round trip per request, on
connections that were in use milliseconds ago. Connections die of idleness (server or proxy timeouts,
restarts while nobody was looking), so here a checkout pings only a connection that has been idle for
``DATABASE_PING_IDLE_SECONDS``; one found dead is replaced by the pool before the request sees it. A server
restart under steady traffic is still caught by SQLAlchemy's disconnect handling, which invalidates the pool.
"""
import time
import weakref

from sqlalchemy import event, exc, text


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


# Namespaces of the transaction-scoped locks (the first key of PostgreSQL's two-key advisory lock).
LOCK_BOOKING_PERSON = 1301
LOCK_UPLOADER = 1302


def lock_keys(session, namespace, keys):
    """Serialise, until the transaction ends, the writers that share a key in ``namespace``.

    PostgreSQL: one transaction-scoped advisory lock per key (``pg_advisory_xact_lock(namespace, key)``), taken
    in ascending key order in one statement, so two transactions locking overlapping keys never wait on each
    other in a cycle. SQLite has one writer at a time: its write lock is taken now (``BEGIN IMMEDIATE`` when the
    connection is not in a transaction yet; a connection that has written already holds it), so a check read
    after this call cannot be overtaken by another writer before the write. Keys are 32-bit integers (ids).
    """
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        ordered = sorted(set(keys))
        if ordered:
            calls = ", ".join(f"pg_advisory_xact_lock(:namespace, :key{index})" for index in range(len(ordered)))
            params = {f"key{index}": key for index, key in enumerate(ordered)}
            connection.execute(text(f"SELECT {calls}"), {"namespace": namespace, **params})
    elif dialect == "sqlite" and not connection.connection.dbapi_connection.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
