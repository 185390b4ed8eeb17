"""Notifications' reactions: a committed outbox row gets its delivery job; a new notification is pushed live."""
import logging

from app.common import sockets
from app.extensions import queues

log = logging.getLogger(__name__)

DELIVERY_JOB = "jobs.tasks.deliver_outbox_message"


def enqueue_delivery(message_id, channel):
    """Enqueue the delivery job by dotted name; with Redis down the periodic dispatcher sends the row later."""
    try:
        queues["default"].enqueue(DELIVERY_JOB, message_id)
    except Exception:  # Redis down: the row is committed and stays pending, nothing is lost
        log.exception("Could not enqueue delivery of outbox %s message %s", channel, message_id)


def push_notification(user_id, notification):
    """``notification:new`` to every socket of the user; a missed push shows up in GET /notifications."""
    sockets.emit("notification:new", notification, sockets.user_room(user_id))


def register(bus):
    bus.subscribe("outbox.queued", enqueue_delivery)
    bus.subscribe("notification.created", push_notification)
