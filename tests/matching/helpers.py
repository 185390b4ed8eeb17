"""How a request's database transactions end, read from the engine's commit and rollback events."""
from contextlib import contextmanager

import sqlalchemy as sa

from app.extensions import db


@contextmanager
def transaction_ends():
    """The ends of the transactions run inside the block, in order: "commit" or "rollback"."""
    ends = []
    listeners = {"commit": lambda _connection: ends.append("commit"),
                 "rollback": lambda _connection: ends.append("rollback")}
    for name, listener in listeners.items():
        sa.event.listen(db.engine, name, listener)
    try:
        yield ends
    finally:
        for name, listener in listeners.items():
            sa.event.remove(db.engine, name, listener)
