"""Registering and managing webhooks (owner-only: another user's webhook is 404, admins included).

Who may register: any active user with a confirmed email, for events that concern them (they are a party of the
booking, review or payment: scope ``own``); an admin may also register scope ``all`` to receive every event of
the chosen types. The owner is checked again before each delivery (``delivery.authorize``).
"""
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from app.common import crypto
from app.common.errors import Conflict, Forbidden, Invalid, NotFound
from app.common.time import utcnow
from app.extensions import db
from app.notifications import services as notifications
from app.users import services as users
from app.webhooks import signing, targets
from app.webhooks.catalog import EVENT_TYPES
from app.webhooks.models import Webhook, WebhookDelivery


def _check_url(url):
    try:
        targets.check(url)
    except targets.UnsafeTarget as error:
        raise Invalid("The webhook URL is not allowed.", errors={"url": [str(error)]}) from None


def _check_events(events):
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown:
        raise Invalid("Unknown event types.", errors={"events": [f"Unknown event type: {name}." for name in unknown]})
    if not events:
        raise Invalid("Choose at least one event.", errors={"events": ["Choose at least one event."]})
    return sorted(set(events))


def _check_scope(user, scope):
    if scope == "all" and not user.has_role("admin"):
        raise Forbidden("Only admins may receive every event (scope all).")


def create_webhook(user, data):
    """A new webhook and its signing secret (returned once, stored encrypted)."""
    if not user.email_confirmed_at:
        raise Forbidden("Confirm your email before registering webhooks.")
    scope = data.get("scope", "own")
    _check_scope(user, scope)
    events = _check_events(data["events"])
    limit = current_app.config["WEBHOOKS_MAX_PER_USER"]
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Webhook).where(Webhook.owner_id == user.id))
    if count >= limit:
        raise Conflict(f"You already have {limit} webhooks, the most allowed; delete one first.")
    _check_url(data["url"])
    secret = signing.new_secret()
    webhook = Webhook(owner_id=user.id, url=data["url"], description=data.get("description", ""), events=events,
                      scope=scope, secret_encrypted=crypto.encrypt(secret), active=True, failure_streak=0)
    db.session.add(webhook)
    db.session.flush()
    return webhook, secret


def webhooks_query(user):
    return sa.select(Webhook).where(Webhook.owner_id == user.id).order_by(Webhook.id)


def get_webhook(user, webhook_id):
    webhook = db.session.get(Webhook, webhook_id)
    if webhook is None or webhook.owner_id != user.id:
        raise NotFound("Webhook not found.")
    return webhook


def update_webhook(user, webhook_id, changes):
    """Change url, events, description, scope or active; turning a disabled webhook back on clears its failures."""
    webhook = get_webhook(user, webhook_id)
    if "url" in changes:
        _check_url(changes["url"])
        webhook.url = changes["url"]
    if "events" in changes:
        webhook.events = _check_events(changes["events"])
    if "scope" in changes:
        _check_scope(user, changes["scope"])
        webhook.scope = changes["scope"]
    if "description" in changes:
        webhook.description = changes["description"]
    if "active" in changes:
        webhook.active = changes["active"]
        if webhook.active:
            webhook.failure_streak, webhook.disabled_reason = 0, None
    webhook.updated_at = utcnow()
    return webhook


def delete_webhook(user, webhook_id):
    db.session.delete(get_webhook(user, webhook_id))


def rotate_secret(user, webhook_id):
    """A new signing secret (returned once); the old one stops signing at once."""
    webhook = get_webhook(user, webhook_id)
    secret = signing.new_secret()
    webhook.secret_encrypted = crypto.encrypt(secret)
    webhook.secret_rotated_at = webhook.updated_at = utcnow()
    return webhook, secret


def deliveries_query(user, webhook_id, status=None):
    webhook = get_webhook(user, webhook_id)
    stmt = sa.select(WebhookDelivery).options(joinedload(WebhookDelivery.event)).where(
        WebhookDelivery.webhook_id == webhook.id)
    if status:
        stmt = stmt.where(WebhookDelivery.status == status)
    return stmt.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())


def tell_owner_disabled(webhook_id):
    """An in-app notice and an email to the owner of a webhook switched off for failing (once per switch-off)."""
    webhook = db.session.get(Webhook, webhook_id)
    if webhook is None or webhook.active:
        return
    owner = users.get_user(webhook.owner_id)
    title = "A webhook was disabled"
    body = (f"Your webhook to {webhook.url} was disabled: {webhook.disabled_reason} Fix the receiver, then turn it "
            f"back on with PATCH /api/v1/webhooks/{webhook.id} {{\"active\": true}}; GET "
            f"/api/v1/webhooks/{webhook.id}/deliveries shows what failed.")
    notifications.notify(owner.id, "webhook_disabled", title, body, {"webhook_id": webhook.id})
    notifications.queue_email(owner.email, title, body, user_id=owner.id, kind="webhook_disabled",
                              dedupe_key=f"webhook-disabled:{webhook.id}:{webhook.updated_at.isoformat()}")
