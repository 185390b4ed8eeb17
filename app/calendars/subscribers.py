"""Calendars' reactions: booking changes are pushed to each participant's connected calendar, a new connection
and a push notification get a pull, a disconnected calendar loses the events Tutorhub pushed; all as RQ jobs enqueued by dotted name, retried with backoff."""
import logging

from flask import current_app
from rq import Retry

from app.calendars import services
from app.extensions import queues

log = logging.getLogger(__name__)

PUSH_JOB = "jobs.tasks.push_booking_to_calendar"
PULL_JOB = "jobs.tasks.pull_calendar"
START_JOB = "jobs.tasks.start_calendar_sync"
CLEAN_UP_JOB = "jobs.tasks.clean_up_disconnected_calendar"
# The clean-up job carries the disconnected grant (sealed) in Redis: a failed one is kept a week, not RQ's year.
CLEAN_UP_FAILURE_TTL = 7 * 24 * 3600


def _enqueue(job, *args, **options):
    """Enqueue with RQ retries (CALENDAR_RETRY_SECONDS); with Redis down the periodic poll catches up later.
    ``options`` are RQ's enqueue options (``failure_ttl``)."""
    intervals = current_app.config["CALENDAR_RETRY_SECONDS"]
    try:
        queues["default"].enqueue(job, *args, retry=Retry(max=len(intervals), interval=intervals), **options)
    except Exception:  # noqa: BLE001 (Redis down: pulls are re-polled; the next booking change pushes again)
        log.exception("Could not enqueue %s%s", job, args)


def push_booking(booking_id, student_id, tutor_id, **_payload):
    for connection_id in services.connection_ids_for((student_id, tutor_id)):
        _enqueue(PUSH_JOB, connection_id, booking_id)


def start_sync(connection_id, **_payload):
    _enqueue(START_JOB, connection_id)


def pull(connection_id):
    _enqueue(PULL_JOB, connection_id)


def clean_up(provider, grant, event_ids, channel_id=None, channel_resource_id=None, **_payload):
    _enqueue(CLEAN_UP_JOB, provider, grant, event_ids, channel_id, channel_resource_id,
             failure_ttl=CLEAN_UP_FAILURE_TTL)


def register(bus):
    for name in ("booking.confirmed", "booking.rescheduled", "booking.cancelled"):
        bus.subscribe(name, push_booking)
    bus.subscribe("calendar.connected", start_sync)
    bus.subscribe("calendar.disconnected", clean_up)
    bus.subscribe("calendar.sync_requested", pull)
