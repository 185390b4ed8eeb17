"""Job functions. Each runs inside the worker's app context and only calls services; each is idempotent."""
from app.notifications import services as notifications


def deliver_outbox_message(message_id):
    return notifications.deliver(message_id)


def dispatch_due_outbox(limit=500):
    return notifications.dispatch_due(limit)


def expire_booking_requests():
    from app.common.transactions import unit_of_work
    from app.scheduling import services as scheduling

    with unit_of_work():
        return scheduling.expire_stale_requests()


def release_closed_review_windows():
    from app.common.transactions import unit_of_work
    from app.reviews import services as reviews

    with unit_of_work():
        return reviews.release_due()


def refresh_bayesian_ratings():
    from app.common.transactions import unit_of_work
    from app.reviews import services as reviews

    with unit_of_work():
        return reviews.refresh_all_bayesian()


def send_message_digests():
    from app.messaging.digest import queue_message_digests

    return queue_message_digests()
