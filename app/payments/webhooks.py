"""PayPal webhooks: verified through PayPal's ``verify-webhook-signature`` (``cert_url`` is never fetched), applied
once per PayPal event id, logged in ``paypal_webhook_events``.

Captures (``PAYMENT.CAPTURE.COMPLETED``) credit a deposit not yet credited; refunds and chargebacks made at PayPal
(``PAYMENT.CAPTURE.REFUNDED`` / ``REVERSED``) take the money back from the wallet; ``CUSTOMER.DISPUTE.*`` are
stored for the dispute queue; payout items' final statuses settle payouts. A forged event (400), one older than
``PAYPAL_WEBHOOK_MAX_AGE_SECONDS`` (400) and an event id seen before (409) change nothing.
"""
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from app.common.errors import Conflict, DomainError
from app.common.events import publish
from app.common.time import utcnow
from app.extensions import db
from app.payments import deposits, payouts
from app.payments.paypal import PayPalRejected, gateway, to_minor_units
from app.payments.paypal_models import Dispute, WebhookEvent

PAYOUT_ITEM_PREFIX = "PAYMENT.PAYOUTS-ITEM."


class BadWebhook(DomainError):
    code = 400


def receive(headers, event):
    """Verify, deduplicate and apply one webhook event; returns its log row."""
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or not event.get("event_type"):
        raise BadWebhook("Not a PayPal webhook event.")
    if not gateway().verify_webhook(headers, event):
        raise BadWebhook("The webhook signature does not verify.")
    _check_fresh(headers.get("PAYPAL-TRANSMISSION-TIME"))
    if db.session.scalar(sa.select(WebhookEvent.id).where(WebhookEvent.event_id == event["id"])):
        raise Conflict("This webhook event was already received.")
    resource = event.get("resource") if isinstance(event.get("resource"), dict) else {}
    row = WebhookEvent(event_id=event["id"][:64], event_type=str(event["event_type"])[:64],
                       resource_id=_resource_id(resource), outcome="received", payload=event)
    db.session.add(row)
    db.session.flush()  # a concurrent duplicate waits here on the unique index, then fails (409)
    row.outcome = _apply(row.event_type, resource)
    db.session.flush()
    return row


def _check_fresh(transmission_time):
    try:
        sent = datetime.fromisoformat(str(transmission_time).replace("Z", "+00:00"))
    except ValueError:
        raise BadWebhook("Unreadable PAYPAL-TRANSMISSION-TIME.") from None
    if sent.tzinfo is None:
        raise BadWebhook("PAYPAL-TRANSMISSION-TIME has no offset.")
    max_age = timedelta(seconds=current_app.config.get("PAYPAL_WEBHOOK_MAX_AGE_SECONDS", 86400))
    if abs(utcnow() - sent) > max_age:
        raise BadWebhook("The webhook transmission is too old (a replay).")


def _resource_id(resource):
    value = resource.get("id") or resource.get("dispute_id") or resource.get("payout_item_id")
    return str(value)[:64] if value else None


def _apply(event_type, resource):
    if event_type == "PAYMENT.CAPTURE.COMPLETED":
        return _capture_completed(resource)
    if event_type == "PAYMENT.CAPTURE.REFUNDED":
        return _capture_refunded(resource)
    if event_type == "PAYMENT.CAPTURE.REVERSED":
        return _capture_reversed(resource)
    if event_type.startswith("CUSTOMER.DISPUTE."):
        return record_dispute(event_type, resource)
    if event_type.startswith(PAYOUT_ITEM_PREFIX):
        errors = resource.get("errors") if isinstance(resource.get("errors"), dict) else {}
        return payouts.settle_payout_item(str(resource.get("payout_batch_id")),
                                          str(resource.get("transaction_status")), errors.get("message"))
    return "ignored"


def _amount(resource, field="amount"):
    amount = resource.get(field) or {}
    try:
        currency = amount.get("currency_code") or amount.get("currency")
        return to_minor_units(amount["value"], currency), currency
    except (KeyError, TypeError, PayPalRejected):
        raise BadWebhook(f"The event's {field} is not readable.") from None


def _capture_completed(resource):
    order_id = ((resource.get("supplementary_data") or {}).get("related_ids") or {}).get("order_id")
    deposit = deposits.locked_by_order(str(order_id)) if order_id else None
    if deposit is None:
        return "unmatched"
    if resource.get("status") != "COMPLETED":
        return "ignored"
    amount, currency = _amount(resource)
    if currency != deposit.currency:
        return "review"
    return "applied" if deposits.credit_capture(deposit, str(resource["id"]), amount) else "already_applied"


def _capture_of(resource):
    for link in resource.get("links") or []:
        if isinstance(link, dict) and link.get("rel") == "up" and "/captures/" in str(link.get("href")):
            return str(link["href"]).rstrip("/").rsplit("/", 1)[-1]
    return None


def _capture_refunded(resource):
    capture_id = _capture_of(resource)
    deposit = deposits.locked_by_capture(capture_id) if capture_id else None
    if deposit is None or not resource.get("id"):
        return "unmatched"
    amount, _currency = _amount(resource)
    return deposits.take_back(deposit, str(resource["id"]), amount, str(resource.get("status", "COMPLETED")),
                              "paypal_refund")


def _capture_reversed(resource):
    deposit = deposits.locked_by_capture(str(resource.get("id")))
    if deposit is None:
        return "unmatched"
    amount, _currency = _amount(resource)
    return deposits.take_back(deposit, f"reversal:{resource['id']}", amount, "REVERSED", "capture_reversal")


def record_dispute(event_type, resource):
    """Keep the dispute's latest state for the dispute queue (one row per PayPal dispute id)."""
    dispute_id = resource.get("dispute_id")
    if not dispute_id:
        return "ignored"
    transactions = resource.get("disputed_transactions") or [{}]
    capture_id = (transactions[0] or {}).get("seller_transaction_id")
    amount, currency = _amount(resource, "dispute_amount") if resource.get("dispute_amount") else (None, None)
    deposit = deposits.locked_by_capture(str(capture_id)) if capture_id else None
    dispute = db.session.scalar(sa.select(Dispute).where(Dispute.dispute_id == str(dispute_id)).with_for_update())
    if dispute is None:
        dispute = Dispute(dispute_id=str(dispute_id)[:64])
    dispute.status = str(resource.get("status") or "OPEN")[:40]
    dispute.reason = str(resource.get("reason"))[:80] if resource.get("reason") else None
    dispute.amount_minor, dispute.currency = amount, currency
    dispute.capture_id = str(capture_id)[:64] if capture_id else None
    dispute.deposit_id = deposit.id if deposit else None
    dispute.last_event_type = event_type
    dispute.payload = resource
    db.session.add(dispute)
    db.session.flush()
    publish("payments.paypal_dispute_updated", dispute_id=dispute.id, paypal_dispute_id=dispute.dispute_id,
            status=dispute.status, deposit_id=dispute.deposit_id)
    return "applied"


def disputes_query():
    return sa.select(Dispute).order_by(Dispute.updated_at.desc(), Dispute.id.desc())
