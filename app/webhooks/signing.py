"""Signatures of webhook deliveries, Stripe-style: ``Tutorhub-Signature: t=<unix seconds>,v1=<hex>`` where the hex
is HMAC-SHA256, keyed with the webhook's secret, over ``f"{t}.{body}"`` (the exact bytes of the body).

A receiver recomputes the HMAC over the timestamp it was given and the raw body, compares in constant time and
refuses a timestamp older than a few minutes (replays). ``verify`` is that check, for our tests and for anyone
copying it.
"""
import hashlib
import hmac
import secrets
import time

SIGNATURE_HEADER = "Tutorhub-Signature"
EVENT_ID_HEADER = "Tutorhub-Event-Id"
EVENT_TYPE_HEADER = "Tutorhub-Event-Type"
DELIVERY_ATTEMPT_HEADER = "Tutorhub-Delivery-Attempt"
SECRET_PREFIX = "whsec_"


def new_secret():
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret, timestamp, body):
    """The hex HMAC-SHA256 of ``f"{timestamp}.{body}"`` (``body`` as bytes)."""
    message = str(int(timestamp)).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret, body, timestamp=None):
    timestamp = int(time.time() if timestamp is None else timestamp)
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(secret, header, body, tolerance_seconds=300, now=None):
    """True when ``header`` signs ``body`` with ``secret`` and its timestamp is within the tolerance."""
    try:
        fields = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(fields["t"])
    except (ValueError, KeyError, AttributeError):
        return False
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance_seconds:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), fields.get("v1", ""))
