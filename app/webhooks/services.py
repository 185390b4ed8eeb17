"""The webhooks domain's door: routes, subscribers and jobs call only this.

``registry.py`` registers and manages webhooks; ``delivery.py`` turns internal events into signed, retried,
logged deliveries; ``targets.py`` keeps them off private addresses; ``signing.py`` is the signature scheme;
``catalog.py`` lists the event types integrators can subscribe to.
"""
from app.common.errors import Conflict
from app.webhooks import delivery
from app.webhooks.catalog import EVENT_TYPES, PING
from app.webhooks.delivery import claim as claim_delivery
from app.webhooks.delivery import due_ids as due_delivery_ids
from app.webhooks.delivery import post as post_delivery
from app.webhooks.delivery import prepare as prepare_delivery
from app.webhooks.delivery import purge_finished as purge_delivery_log
from app.webhooks.delivery import record as record_attempt
from app.webhooks.delivery import record_event, retry_delay
from app.webhooks.registry import (
    create_webhook,
    delete_webhook,
    deliveries_query,
    get_webhook,
    rotate_secret,
    tell_owner_disabled,
    update_webhook,
    webhooks_query,
)

__all__ = [
    "EVENT_TYPES", "PING", "claim_delivery", "create_webhook", "deliveries_query", "delete_webhook",
    "due_delivery_ids", "get_webhook", "ping", "post_delivery", "prepare_delivery", "purge_delivery_log", "record_attempt",
    "record_event", "retry_delay", "rotate_secret", "tell_owner_disabled", "update_webhook", "webhooks_query",
]


def ping(user, webhook_id):
    """Queue a ``webhook.ping`` delivery to one of the caller's webhooks (a disabled one is refused: 409)."""
    webhook = get_webhook(user, webhook_id)
    if not webhook.active:
        raise Conflict("The webhook is disabled; turn it back on (PATCH active: true) first.")
    return delivery.ping(webhook)
