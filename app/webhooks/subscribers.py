"""Webhooks' reactions: each subscribable internal event becomes deliveries (in their own unit of work); each
delivery that falls due gets its RQ job, enqueued by dotted name (now, or after its backoff for a retry); the
owner of a webhook disabled for failing is told."""
import logging
import math
from datetime import timedelta

from app.common.transactions import unit_of_work
from app.extensions import queues
from app.webhooks import services

log = logging.getLogger(__name__)

DELIVERY_JOB = "jobs.tasks.deliver_webhook"


def _recorder(event_type):
    def record(**payload):
        with unit_of_work():
            services.record_event(event_type, payload)

    record.__qualname__ = f"record_webhook_event[{event_type}]"
    return record


def enqueue_delivery(delivery_id, webhook_id, delay_seconds):
    """The delivery job, now or in ``delay_seconds``; with Redis down the periodic dispatcher sends it later."""
    try:
        if delay_seconds:
            # RQ's scheduler keeps whole seconds and may run a job up to a second early, when the claim would
            # find it not yet due: schedule it a second late instead.
            delay = timedelta(seconds=math.ceil(delay_seconds) + 1)
            queues["default"].enqueue_in(delay, DELIVERY_JOB, delivery_id)
        else:
            queues["default"].enqueue(DELIVERY_JOB, delivery_id)
    except Exception:  # Redis down: the row is committed and due, nothing is lost
        log.exception("Could not enqueue webhook %s delivery %s", webhook_id, delivery_id)


def tell_owner_disabled(webhook_id, **_payload):
    with unit_of_work():
        services.tell_owner_disabled(webhook_id)


def register(bus):
    for event_type in services.EVENT_TYPES:
        bus.subscribe(event_type, _recorder(event_type))
    bus.subscribe("webhooks.delivery_due", enqueue_delivery)
    bus.subscribe("webhooks.disabled", tell_owner_disabled)
