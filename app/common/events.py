"""The one seam for side effects: services publish named events, subscribers react after the outermost commit.

A service calls ``publish("booking.confirmed", booking_id=7, ...)`` inside a unit of work
(``app.common.transactions.unit_of_work``). The event waits on the session until that unit commits; then every
subscriber of the name runs, in the order ``create_app`` registered them. A rolled-back unit drops its events.
Subscribers (socket emits, job enqueues by dotted name, other domains' reactions) live in each domain's
``subscribers.py`` and are registered explicitly by ``create_app``; the names and payloads are listed in
``docs/events.md``.
"""
import logging
from collections import defaultdict

from flask import current_app

from app.extensions import db

log = logging.getLogger(__name__)

PENDING_KEY = "tutorhub.pending_events"
DEPTH_KEY = "tutorhub.unit_of_work_depth"


class EventBus:
    """Subscribers by event name, one bus per application."""

    def __init__(self):
        self._subscribers = defaultdict(list)

    def subscribe(self, name, handler):
        """Call ``handler(**payload)`` after each committed ``name`` event."""
        if handler not in self._subscribers[name]:
            self._subscribers[name].append(handler)

    def subscribers(self, name):
        return tuple(self._subscribers.get(name, ()))

    def names(self):
        return sorted(name for name, handlers in self._subscribers.items() if handlers)


def init_app(app):
    app.extensions["events"] = EventBus()
    return app.extensions["events"]


def bus():
    return current_app.extensions["events"]


def publish(name, **payload):
    """Announce ``name`` with ``payload`` (plain values: ids, strings, ISO datetimes) once the unit commits."""
    info = db.session.info
    if not info.get(DEPTH_KEY):
        raise RuntimeError(f"publish({name!r}) outside a unit of work: wrap the caller in unit_of_work()")
    info.setdefault(PENDING_KEY, []).append((name, payload))


def take_pending(session):
    """The events a session collected, removed from it (the unit of work calls this after commit)."""
    return session.info.pop(PENDING_KEY, [])


def discard_pending(session):
    session.info.pop(PENDING_KEY, None)


def deliver(events):
    """Run each event's subscribers; a failing subscriber is logged and never undoes the committed change."""
    if not events:
        return
    registered = bus()
    for name, payload in events:
        for handler in registered.subscribers(name):
            try:
                handler(**payload)
            except Exception:  # noqa: BLE001 (the change is committed; one reaction failing must not stop the rest)
                log.exception("Subscriber %s of %s failed", getattr(handler, "__qualname__", handler), name)
                db.session.rollback()
