"""Job functions. Each runs inside the worker's app context and only calls services; each is idempotent."""
from app.common.transactions import in_unit_of_work, unit_of_work
from app.notifications import services as notifications


def _committed_step():
    """A unit of work that really commits when it ends: outbox delivery must commit its claim before sending."""
    if in_unit_of_work():
        raise RuntimeError("outbox delivery commits each step: call it outside any unit of work")
    return unit_of_work()


def deliver_outbox_message(message_id):
    """Send one outbox message if it is due and nobody else holds it. Returns its new status, or None."""
    with _committed_step():
        claimed = notifications.claim(message_id)
    if not claimed:
        return None
    with _committed_step():
        return notifications.send_claimed(message_id)


def dispatch_due_outbox(limit=500):
    """Send every due outbox message; safe in several workers at once. Returns how many were sent.

    One commit claims the batch, then each message is sent and recorded on its own commit: a crash re-sends
    nothing already recorded, and a dead worker's unsent claims come back after the lease."""
    with _committed_step():
        ids = notifications.claim_due(limit)
    sent = 0
    for message_id in ids:
        with _committed_step():
            sent += notifications.send_claimed(message_id) == "sent"
    return sent


def expire_booking_requests():
    from app.common.transactions import unit_of_work
    from app.scheduling import services as scheduling

    with unit_of_work():
        return scheduling.expire_stale_requests()


def release_due_escrow():
    """Pay tutors the escrow of sessions whose dispute window has passed (each hold settled exactly once, even
    when this job runs twice at the same time or is retried). Returns how many holds were settled."""
    from app.payments import services as payments

    with unit_of_work():
        return payments.release_due()


def renew_subscriptions():
    """Renew the plan subscriptions whose month has ended: the ended month's unused credits pay the tutor, the next
    month is charged from the wallet (or the subscription pauses and the student is emailed). Idempotent: two runs
    at once, or a retried run, renew each month once. Returns {renewed, paused, cancelled}."""
    from app.payments import services as payments

    with unit_of_work():
        return payments.renew_subscriptions()


def sync_pending_payouts(older_than_seconds=600):
    """Settle PayPal payouts still pending after ``older_than_seconds`` by asking PayPal (a lost webhook must not
    leave a failed payout's money out). Each payout in its own unit of work; PayPal down skips to the next run.
    Returns how many were settled."""
    from datetime import timedelta

    from app.common.time import utcnow
    from app.payments import payouts
    from app.payments.paypal import PayPalRejected, PayPalUnavailable

    with unit_of_work():
        ids = payouts.pending_payout_ids(utcnow() - timedelta(seconds=older_than_seconds))
    settled = 0
    for payout_id in ids:
        try:
            with unit_of_work():
                settled += payouts.sync_payout(payout_id) == "applied"
        except (PayPalUnavailable, PayPalRejected):
            continue
    return settled


def purge_expired_idempotency_keys():
    """Forget stored Idempotency-Key responses past their TTL. Returns how many were deleted."""
    from app.common import idempotency

    with unit_of_work():
        return idempotency.purge_expired()


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
    from app.messaging import services as messaging

    with unit_of_work():
        return messaging.queue_message_digests()


def delete_stale_uploads():
    """Unsent attachments past ATTACHMENT_UNSENT_MAX_AGE_HOURS: files and rows, in batches, each committed."""
    from app.messaging import services as messaging

    deleted = 0
    while True:
        with unit_of_work():
            step = messaging.delete_stale_uploads()
        deleted += step
        if not step:
            return deleted


def train_matching_model():
    """Nightly: a new learned-matching model from the log (skipped, with a log line, while the log is too thin)."""
    from flask import current_app

    from app.common.errors import DomainError
    from app.common.transactions import unit_of_work
    from app.matching import services as matching

    try:
        with unit_of_work():
            return matching.train_model().version
    except DomainError as error:
        current_app.logger.info("matching: no model trained: %s", error.message)
        return None


def prune_match_log():
    from app.common.transactions import unit_of_work
    from app.matching import services as matching

    with unit_of_work():
        return matching.prune_match_log()
