"""Engine helpers shared by the domains (the pool's liveness check is SQLAlchemy's ``pool_pre_ping``, set in
``create_app``)."""
import weakref

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
