"""From an internal event to signed HTTP POSTs: intake (event + delivery rows), claim, send, record, retry.

Each delivery is claimed (a lease: a dead worker's claim comes back after WEBHOOKS_CLAIM_LEASE_SECONDS), sent
outside any transaction, and recorded as one attempt. 2xx is delivered; anything else (3xx included: redirects
are not followed), a timeout or a refused connection is retried after WEBHOOKS_RETRY_BASE_SECONDS · 2^(n-1)
(capped at WEBHOOKS_RETRY_MAX_SECONDS) up to WEBHOOKS_MAX_ATTEMPTS attempts, then failed. After
WEBHOOKS_DISABLE_AFTER_FAILURES failed deliveries in a row the webhook is disabled (``disabled_reason``); PATCH
``active: true`` turns it back on.
"""
import json
import time
import uuid
from datetime import timedelta

import requests
import sqlalchemy as sa
from flask import current_app

from app.common import crypto
from app.common.errors import NotFound
from app.common.events import publish
from app.common.time import utcnow
from app.extensions import db
from app.users import services as users
from app.webhooks import catalog, signing, targets, transport
from app.webhooks.models import Webhook, WebhookAttempt, WebhookDelivery, WebhookEvent

OPEN = ("pending", "retrying")
USER_AGENT = "Tutorhub-Webhooks/1"


def _concerns(webhook, owner, event_type, data):
    """Authorization of one delivery: an active owner who is a party of the event, or an admin with scope all."""
    if owner is None or not owner.is_active:
        return False
    if webhook.scope == "all" and owner.has_role("admin"):
        return True
    return event_type == catalog.PING or owner.id in catalog.parties(event_type, data)


def _owner(user_id):
    """The webhook's owner while the account is active, else None."""
    try:
        return users.get_user(user_id)
    except NotFound:
        return None


def _new_event(event_type, data):
    event = WebhookEvent(id=f"evt_{uuid.uuid4().hex}", type=event_type, data=data, created_at=utcnow())
    db.session.add(event)
    return event


def _queue(webhook, event):
    delivery = WebhookDelivery(webhook_id=webhook.id, event_id=event.id, status="pending", attempts=0,
                               next_attempt_at=event.created_at)
    db.session.add(delivery)
    db.session.flush()
    publish("webhooks.delivery_due", delivery_id=delivery.id, webhook_id=webhook.id, delay_seconds=0)
    return delivery


def record_event(event_type, payload):
    """One webhook event for an internal event, and a pending delivery for each webhook it concerns. Returns the
    deliveries (none, and no event row, when no webhook wants it)."""
    data = catalog.public_data(event_type, payload)
    party_ids = catalog.parties(event_type, data)
    candidates = db.session.scalars(sa.select(Webhook).where(
        Webhook.active.is_(True), sa.or_(Webhook.owner_id.in_(party_ids), Webhook.scope == "all"),
    ).order_by(Webhook.id)).all()
    wanted = [hook for hook in candidates
              if event_type in hook.events and _concerns(hook, _owner(hook.owner_id), event_type, data)]
    if not wanted:
        return []
    event = _new_event(event_type, data)
    db.session.flush()
    return [_queue(hook, event) for hook in wanted]


def ping(webhook):
    """A ``webhook.ping`` delivery to one webhook (whatever events it chose)."""
    event = _new_event(catalog.PING, {"webhook_id": webhook.id})
    db.session.flush()
    return _queue(webhook, event)


def _due(now):
    return (WebhookDelivery.status.in_(OPEN), WebhookDelivery.next_attempt_at <= now)


def claim(delivery_id):
    """Take one due delivery (lease and attempt number); True when this caller holds it. Commit before sending."""
    now = utcnow()
    lease = now + timedelta(seconds=current_app.config["WEBHOOKS_CLAIM_LEASE_SECONDS"])
    return db.session.execute(
        sa.update(WebhookDelivery).where(WebhookDelivery.id == delivery_id, *_due(now))
        .values(next_attempt_at=lease, attempts=WebhookDelivery.attempts + 1, updated_at=now)
    ).rowcount == 1


def due_ids(limit=500):
    """Ids of deliveries due now (new ones whose job was lost, retries, expired claims), oldest first."""
    stmt = sa.select(WebhookDelivery.id).where(*_due(utcnow())).order_by(WebhookDelivery.next_attempt_at,
                                                                         WebhookDelivery.id)
    return db.session.scalars(stmt.limit(limit)).all()


def prepare(delivery_id):
    """The signed request of a claimed delivery: ``{url, body, headers}``; None (the delivery recorded
    ``skipped``) when its webhook is gone, off, no longer subscribed, or its owner is no longer concerned."""
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None:  # its webhook was deleted since the claim
        return None
    webhook = db.session.get(Webhook, delivery.webhook_id)
    event = delivery.event
    subscribed = event.type == catalog.PING or event.type in webhook.events
    if not (webhook.active and subscribed and _concerns(webhook, _owner(webhook.owner_id), event.type,
                                                        event.data)):
        delivery.status, delivery.next_attempt_at = "skipped", None
        delivery.last_error = "Not sent: the webhook is off, unsubscribed, or its owner is no longer concerned."
        return None
    body = json.dumps({"id": event.id, "type": event.type, "created_at": event.created_at.isoformat(),
                       "data": event.data}, separators=(",", ":"), sort_keys=True).encode()
    secret = crypto.decrypt(webhook.secret_encrypted)
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
               signing.SIGNATURE_HEADER: signing.signature_header(secret, body),
               signing.EVENT_ID_HEADER: event.id, signing.EVENT_TYPE_HEADER: event.type,
               signing.DELIVERY_ATTEMPT_HEADER: str(delivery.attempts)}
    return {"url": webhook.url, "body": body, "headers": headers}


def post(request):
    """POST a prepared request: ``{response_code, duration_ms, error}``. The URL is checked again first and the
    connection goes to the addresses that check allowed (DNS rebinding); redirects are not followed; short
    timeouts."""
    started = time.monotonic()
    code, error = None, None
    try:
        addresses = targets.check(request["url"])
        code = transport.post(request["url"], addresses, data=request["body"], headers=request["headers"],
                              timeout=(current_app.config["WEBHOOKS_CONNECT_TIMEOUT_SECONDS"],
                                       current_app.config["WEBHOOKS_READ_TIMEOUT_SECONDS"]))
        if not 200 <= code < 300:
            error = f"HTTP {code}"
    except targets.UnsafeTarget as problem:
        error = f"Refused: {problem}"
    except requests.Timeout:
        error = "Timed out"
    except requests.RequestException as problem:
        error = f"Connection failed: {type(problem).__name__}"
    return {"response_code": code, "duration_ms": int((time.monotonic() - started) * 1000), "error": error}


def retry_delay(attempts):
    """Seconds before attempt ``attempts + 1``: exponential from WEBHOOKS_RETRY_BASE_SECONDS, capped."""
    config = current_app.config
    return min(config["WEBHOOKS_RETRY_BASE_SECONDS"] * 2 ** (attempts - 1), config["WEBHOOKS_RETRY_MAX_SECONDS"])


def record(delivery_id, outcome):
    """Log one attempt and move the delivery on: delivered, retrying (the retry published as due) or failed.
    Returns the new status (None when the delivery is gone)."""
    delivery = db.session.get(WebhookDelivery, delivery_id, with_for_update=True)
    if delivery is None:  # its webhook was deleted while the request was in flight
        return None
    now = utcnow()
    db.session.add(WebhookAttempt(delivery_id=delivery.id, number=delivery.attempts, attempted_at=now,
                                  response_code=outcome["response_code"], duration_ms=outcome["duration_ms"],
                                  error=outcome["error"]))
    delivery.last_response_code, delivery.last_duration_ms = outcome["response_code"], outcome["duration_ms"]
    delivery.last_error = outcome["error"]
    webhook = db.session.get(Webhook, delivery.webhook_id)
    if outcome["error"] is None:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = "delivered", now, None
        webhook.failure_streak = 0
    elif delivery.attempts < current_app.config["WEBHOOKS_MAX_ATTEMPTS"]:
        delay = retry_delay(delivery.attempts)
        delivery.status, delivery.next_attempt_at = "retrying", now + timedelta(seconds=delay)
        publish("webhooks.delivery_due", delivery_id=delivery.id, webhook_id=webhook.id, delay_seconds=delay)
    else:
        delivery.status, delivery.next_attempt_at = "failed", None
        _count_failure(webhook)
    return delivery.status


def _count_failure(webhook):
    webhook.failure_streak += 1
    limit = current_app.config["WEBHOOKS_DISABLE_AFTER_FAILURES"]
    if limit and webhook.failure_streak >= limit and webhook.active:
        webhook.active, webhook.updated_at = False, utcnow()
        webhook.disabled_reason = f"Disabled after {webhook.failure_streak} failed deliveries in a row."
        publish("webhooks.disabled", webhook_id=webhook.id, owner_id=webhook.owner_id,
                failure_streak=webhook.failure_streak)


def purge_finished(now=None, limit=5000):
    """Forget finished deliveries (delivered, failed, skipped) older than WEBHOOKS_LOG_RETENTION_DAYS, their
    attempts, and events no delivery refers to any more. Returns how many deliveries were deleted."""
    cutoff = (now or utcnow()) - timedelta(days=current_app.config["WEBHOOKS_LOG_RETENTION_DAYS"])
    old = sa.select(WebhookDelivery.id).where(WebhookDelivery.status.not_in(OPEN),
                                              WebhookDelivery.updated_at < cutoff).limit(limit)
    ids = db.session.scalars(old).all()
    if not ids:
        return 0
    db.session.execute(sa.delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(ids)))
    db.session.execute(sa.delete(WebhookDelivery).where(WebhookDelivery.id.in_(ids)))
    orphans = sa.select(WebhookDelivery.id).where(WebhookDelivery.event_id == WebhookEvent.id).exists()
    db.session.execute(sa.delete(WebhookEvent).where(~orphans, WebhookEvent.created_at < cutoff))
    return len(ids)
