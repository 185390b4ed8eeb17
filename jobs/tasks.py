"""Job functions. Each runs inside the worker's app context and only calls services; each is idempotent."""
from app.notifications import services as notifications


def deliver_outbox_message(message_id):
    return notifications.deliver(message_id)


def dispatch_due_outbox(limit=500):
    return notifications.dispatch_due(limit)


def send_message_digests():
    from app.messaging.digest import queue_message_digests

    return queue_message_digests()
