"""Idle-connection ping: a connection that died while idle is replaced before use; a busy one is not pinged."""
import time

import pytest
import sqlalchemy as sa

from app.common.database import ping_idle_connections

pytestmark = pytest.mark.postgres

IDLE_SECONDS = 0.2


@pytest.fixture
def engine(db):
    engine = sa.create_engine(db.engine.url, pool_size=1, max_overflow=0)
    ping_idle_connections(engine, IDLE_SECONDS)
    pings = []
    ping = engine.dialect.do_ping
    engine.dialect.do_ping = lambda connection: pings.append(1) or ping(connection)
    engine.pings = pings
    yield engine
    engine.dispose()


def _backend_pid(engine):
    with engine.connect() as connection:
        return connection.scalar(sa.text("SELECT pg_backend_pid()"))


def _terminate(db, pid):
    with db.engine.begin() as connection:
        connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


def test_a_connection_reused_at_once_is_not_pinged(engine):
    first = _backend_pid(engine)
    assert _backend_pid(engine) == first
    assert engine.pings == []


def test_a_connection_that_died_while_idle_is_replaced_before_use(db, engine):
    dead = _backend_pid(engine)
    _terminate(db, dead)
    time.sleep(IDLE_SECONDS + 0.1)
    replacement = _backend_pid(engine)  # no error reaches the caller
    assert replacement != dead
    assert engine.pings == [1]


def test_a_live_idle_connection_passes_its_ping_and_is_kept(engine):
    first = _backend_pid(engine)
    time.sleep(IDLE_SECONDS + 0.1)
    assert _backend_pid(engine) == first
    assert engine.pings == [1]
