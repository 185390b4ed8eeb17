"""Engine helpers shared by the domains: the autocommit twin of an engine, and transaction-scoped locks that
serialise writers sharing a key (``lock_keys``). The pool's liveness check is SQLAlchemy's ``pool_pre_ping``, set
in ``create_app``."""
import weakref

from sqlalchemy import text

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
