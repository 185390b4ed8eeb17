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


def deliver_webhook(delivery_id):
    """Make one attempt of a due webhook delivery nobody else holds; returns its new status, or None.

    Claim (committed), then the signed request is built (committed: a delivery no longer wanted is recorded
    skipped), POSTed outside any transaction, and the attempt recorded (a retry is published as due after its
    backoff). A crash after the claim leaves the delivery to come back when its lease ends."""
    from app.webhooks import services as webhooks

    with _committed_step():
        if not webhooks.claim_delivery(delivery_id):
            return None
    with _committed_step():
        request = webhooks.prepare_delivery(delivery_id)
    if request is None:
        return "skipped"
    outcome = webhooks.post_delivery(request)
    with _committed_step():
        return webhooks.record_attempt(delivery_id, outcome)


def dispatch_due_webhooks(limit=200):
    """Attempt every webhook delivery that is due (a lost job, a retry without a scheduler, an expired claim);
    deliveries another worker claims first are skipped. Returns how many were attempted."""
    from app.webhooks import services as webhooks

    with _committed_step():
        ids = webhooks.due_delivery_ids(limit)
    return sum(deliver_webhook(delivery_id) is not None for delivery_id in ids)


def purge_webhook_delivery_log():
    """Forget finished webhook deliveries past WEBHOOKS_LOG_RETENTION_DAYS, in batches. Returns how many."""
    from app.webhooks import services as webhooks

    purged = 0
    while True:
        with unit_of_work():
            step = webhooks.purge_delivery_log()
        purged += step
        if not step:
            return purged
