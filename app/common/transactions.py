"""The unit of work: the one place that commits, rolls back, and turns an IntegrityError into 409.

Views, socket handlers, jobs and CLI commands wrap their writes in it (as a decorator or a ``with`` block);
services flush when they need ids but never commit. Units nest: only the outermost one commits, and only then
are the events published inside it delivered (``app.common.events``).
"""
from contextlib import ContextDecorator

from sqlalchemy.exc import IntegrityError

from app.common import events
from app.common.errors import Conflict
from app.extensions import db

EXCLUSION_VIOLATION = "23P01"


def conflict_from(error):
    """The 409 an IntegrityError stands for (PostgreSQL's exclusion constraints: an overlapping time range)."""
    sqlstate = getattr(getattr(error, "orig", None), "sqlstate", None)
    if sqlstate == EXCLUSION_VIOLATION:
        return Conflict("That time overlaps another active session.")
    return Conflict("The change conflicts with existing data.")


class unit_of_work(ContextDecorator):  # noqa: N801 (used like a function: ``with unit_of_work():``)
    """Commit on success, roll back on any exception; deliver published events after the outermost commit."""

    def __enter__(self):
        session = db.session()
        session.info[events.DEPTH_KEY] = session.info.get(events.DEPTH_KEY, 0) + 1
        return session

    def __exit__(self, exc_type, exc, traceback):
        session = db.session()
        depth = session.info.get(events.DEPTH_KEY, 1) - 1
        if depth:
            session.info[events.DEPTH_KEY] = depth
            return False
        session.info.pop(events.DEPTH_KEY, None)
        if exc_type is not None:
            _abandon(session)
            if isinstance(exc, IntegrityError):  # a flush inside the unit hit a constraint
                raise conflict_from(exc) from None
            return False
        try:
            session.commit()
        except IntegrityError as error:
            _abandon(session)
            raise conflict_from(error) from None
        except BaseException:
            _abandon(session)
            raise
        events.deliver(events.take_pending(session))
        return False


def _abandon(session):
    session.rollback()
    events.discard_pending(session)


def in_unit_of_work():
    return bool(db.session.info.get(events.DEPTH_KEY))
