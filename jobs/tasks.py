"""Job functions. Each runs inside the worker's app context and only calls services; each is idempotent."""
import logging

from app.common.transactions import in_unit_of_work, unit_of_work
from app.notifications import services as notifications

log = logging.getLogger(__name__)


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


# --- calendar sync (app.calendars) ------------------------------------------------------------------------------

def _again_at(when, func, *args):
    """Run this job again at ``when`` (a connection backing off after a rate limit), with its ``failure_ttl``."""
    from rq import get_current_job

    from app.extensions import queues

    job = get_current_job()
    queue = queues[job.origin] if job is not None and job.origin in ("high", "default", "low") else queues["default"]
    queue.enqueue_at(when, f"jobs.tasks.{func.__name__}", *args, failure_ttl=job.failure_ttl if job else None)


def push_booking_to_calendar(connection_id, booking_id):
    """Make one connected calendar match one booking (event created, moved or deleted). Idempotent; a provider
    failure raises so RQ retries it; a rate limit runs it again when the connection's backoff ends."""
    from app.calendars import services as calendars

    with unit_of_work():
        outcome = calendars.push_booking(connection_id, booking_id)
    if outcome.status == "backoff":
        _again_at(outcome.retry_at, push_booking_to_calendar, connection_id, booking_id)
    return outcome.status


def pull_calendar(connection_id):
    """Pull one connected calendar's busy time (incremental). A rate-limited connection is polled again after
    its backoff by ``poll_calendars``."""
    from app.calendars import services as calendars

    with unit_of_work():
        return calendars.pull_busy(connection_id).status


def start_calendar_sync(connection_id):
    """A new connection: the first (full) pull, then its push channel when push is possible."""
    from app.calendars import services as calendars

    status = pull_calendar(connection_id)
    if status == "pulled" and _push_possible():
        with unit_of_work():
            calendars.renew_channel(connection_id)
    return status


def clean_up_disconnected_calendar(provider, grant, event_ids, channel_id=None, channel_resource_id=None):
    """After a disconnect: stop the channel and delete the events Tutorhub pushed, with the grant the connection
    had. A provider failure raises so RQ retries; a rate limit runs it again, for the ids left, after the backoff."""
    from app.calendars import services as calendars

    outcome = calendars.clean_up_disconnected(provider, grant, event_ids, channel_id, channel_resource_id)
    if outcome.status == "backoff":
        _again_at(outcome.retry_at, clean_up_disconnected_calendar, provider, grant, outcome.detail)
    return outcome.status


def _push_possible():
    from app.calendars import services as calendars

    return calendars.push_possible()


def renew_calendar_channels():
    """Open push channels where missing and renew those near expiry, each connection on its own commit.
    Returns how many were renewed."""
    from app.calendars import services as calendars
    from app.calendars.providers.base import ProviderError

    with unit_of_work():
        ids = calendars.channels_due()
    renewed = 0
    for connection_id in ids:
        try:
            with unit_of_work():
                renewed += calendars.renew_channel(connection_id).status == "renewed"
        except ProviderError:
            log.warning("Calendar connection %s: channel renewal failed, retried next run", connection_id)
    return renewed


def poll_calendars():
    """Queue a pull of every connection without a live push channel whose last pull is older than
    CALENDAR_POLL_MINUTES. Returns how many were queued."""
    from app.calendars import services as calendars
    from app.extensions import queues

    with unit_of_work():
        ids = calendars.connections_due_for_poll()
    for connection_id in ids:
        queues["low"].enqueue("jobs.tasks.pull_calendar", connection_id)
    return len(ids)
def rollup_analytics():
    """Roll up the analytics figures of the recent UTC days that are over and not rolled up yet (yesterday, once a
    night; a missed night is caught up). Idempotent: a day rolled up is skipped. Returns the days rolled up."""
    from app.analytics import services as analytics

    with unit_of_work():
        return [day.isoformat() for day in analytics.rollup_due()]
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
