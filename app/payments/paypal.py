"""The PayPal gateway: paypalrestsdk's ``Api`` for the OAuth token and the HTTP transport, PayPal's v2 REST calls.

paypalrestsdk's own resources speak the retiring v1 Payments API, so only ``Api`` is used: its public
``get``/``post`` with a path and headers, and ``http_call`` (public) to add a timeout. The library's quirks,
read from its source (1.13.3), and what this class makes of them:

- a 400 is *returned* as ``{"error": {...}}`` (``Api.request`` catches ``BadRequest``), not raised;
- every other non-2xx status raises a ``paypalrestsdk.exceptions.ConnectionError`` subclass (422
  ``ResourceInvalid``, 404 ``ResourceNotFound``, 5xx ``ServerError``...); a 401 is retried once with a new token;
- a network failure raises ``requests`` exceptions, and without a timeout a call could wait forever.

Rejections (400, 404, 409, 422) become ``PayPalRejected`` (its ``name`` is PayPal's error name, such as
``ORDER_ALREADY_CAPTURED``); outages (connection errors, timeouts, 5xx, a 429) become ``PayPalUnavailable``,
which answers 503 with the standard error body.
"""
import json
import logging
from dataclasses import dataclass

import paypalrestsdk
import requests
from flask import current_app
from paypalrestsdk import exceptions as paypal_errors

from app.common.errors import DomainError
from app.common.money import CURRENCY_EXPONENTS

log = logging.getLogger(__name__)


class PayPalUnavailable(DomainError):
    """PayPal could not be reached or failed on its side: nothing was recorded here, the client may retry."""

    code = 503


class PayPalRejected(DomainError):
    """PayPal refused the request (the caller's or our mistake, not an outage)."""

    code = 422

    def __init__(self, message=None, name=None, status=None, details=None):
        super().__init__(message or "PayPal refused the request.",
                         errors={"paypal": {"name": name, "details": details or []}} if name else None)
        self.name = name
        self.status = status
        # PayPal's specific reason (ORDER_ALREADY_CAPTURED, REFUND_AMOUNT_EXCEEDED...) is the first detail's issue.
        self.issue = next((detail.get("issue") for detail in details or [] if detail.get("issue")), name)


def to_decimal_string(amount_cents, currency):
    """PayPal's amount ``value``: a decimal string in the currency's units (1050 USD cents -> "10.50")."""
    exponent = CURRENCY_EXPONENTS[currency]
    if exponent == 0:
        return str(amount_cents)
    whole, minor = divmod(amount_cents, 10**exponent)
    return f"{whole}.{minor:0{exponent}d}"


def to_minor_units(value, currency):
    """The inverse of ``to_decimal_string``, exact (no float): "10.50" -> 1050."""
    exponent = CURRENCY_EXPONENTS[currency]
    whole, _, fraction = str(value).partition(".")
    if len(fraction) > exponent or not whole.lstrip("-").isdigit() or (fraction and not fraction.isdigit()):
        raise PayPalRejected(f"PayPal sent an amount {value!r} that is not a {currency} amount.")
    return int(whole) * 10**exponent + (int(fraction.ljust(exponent, "0")) if exponent else 0)


class TimedApi(paypalrestsdk.Api):
    """paypalrestsdk's Api with a timeout on every HTTP call (the library passes none to ``requests``)."""

    def __init__(self, timeout, **options):
        super().__init__(**options)
        self.timeout = timeout

    def http_call(self, url, method, **kwargs):
        kwargs.setdefault("timeout", self.timeout)
        return super().http_call(url, method, **kwargs)


@dataclass(frozen=True)
class Order:
    id: str
    status: str
    approve_url: str | None
    capture_id: str | None = None
    capture_status: str | None = None
    captured_cents: int | None = None


@dataclass(frozen=True)
class Refund:
    id: str
    status: str
    amount_cents: int


@dataclass(frozen=True)
class Payout:
    batch_id: str
    status: str


class PayPalGateway:
    """PayPal's v2 Orders, captures' refunds, v1 Payouts and webhook verification, through one ``Api``."""

    def __init__(self, api, webhook_id=None):
        self.api = api
        self.webhook_id = webhook_id

    @classmethod
    def from_config(cls, config):
        api = TimedApi(
            timeout=config.get("PAYPAL_TIMEOUT_SECONDS", 15),
            mode=config.get("PAYPAL_MODE", "sandbox"),
            client_id=config.get("PAYPAL_CLIENT_ID") or "",
            client_secret=config.get("PAYPAL_CLIENT_SECRET") or "",
            **({"endpoint": config["PAYPAL_API_BASE"]} if config.get("PAYPAL_API_BASE") else {}),
        )
        return cls(api, webhook_id=config.get("PAYPAL_WEBHOOK_ID"))

    # Orders -------------------------------------------------------------------------------------------------

    def create_order(self, amount_cents, currency, request_id, reference, return_url=None, cancel_url=None):
        """A CAPTURE order for the amount; ``request_id`` makes a repeated call return the same order."""
        body = {
            "intent": "CAPTURE",
            "purchase_units": [{
                "reference_id": reference,
                "custom_id": reference,
                "amount": {"currency_code": currency, "value": to_decimal_string(amount_cents, currency)},
            }],
        }
        if return_url or cancel_url:
            body["application_context"] = {"return_url": return_url, "cancel_url": cancel_url,
                                           "user_action": "PAY_NOW", "shipping_preference": "NO_SHIPPING"}
        return self._order(self._call("post", "v2/checkout/orders", body, request_id))

    def get_order(self, order_id):
        return self._order(self._call("get", f"v2/checkout/orders/{order_id}"))

    def capture_order(self, order_id, request_id):
        """Capture an approved order; the same ``request_id`` returns the first capture again."""
        return self._order(self._call("post", f"v2/checkout/orders/{order_id}/capture", {}, request_id))

    # Refunds ------------------------------------------------------------------------------------------------

    def refund_capture(self, capture_id, amount_cents, currency, request_id, note=None):
        """Refund part (or all) of a capture; ``request_id`` makes a retry return the same refund."""
        body = {"amount": {"currency_code": currency, "value": to_decimal_string(amount_cents, currency)}}
        if note:
            body["note_to_payer"] = note[:255]
        data = self._call("post", f"v2/payments/captures/{capture_id}/refund", body, request_id)
        amount = data.get("amount") or {"value": to_decimal_string(amount_cents, currency), "currency_code": currency}
        return Refund(id=data["id"], status=data.get("status", ""),
                      amount_cents=to_minor_units(amount["value"], amount["currency_code"]))

    # Payouts ------------------------------------------------------------------------------------------------

    def create_payout(self, batch_id, receiver_email, amount_cents, currency, note):
        """One PayPal Payout item to an email; PayPal refuses a second batch with the same ``batch_id``."""
        body = {
            "sender_batch_header": {"sender_batch_id": batch_id, "email_subject": "Your Tutorhub payout",
                                    "email_message": note},
            "items": [{
                "recipient_type": "EMAIL", "receiver": receiver_email, "sender_item_id": batch_id, "note": note,
                "amount": {"currency": currency, "value": to_decimal_string(amount_cents, currency)},
            }],
        }
        data = self._call("post", "v1/payments/payouts", body, batch_id)
        header = data.get("batch_header") or {}
        return Payout(batch_id=header.get("payout_batch_id", ""), status=header.get("batch_status", ""))

    def get_payout(self, payout_batch_id):
        """The batch and its items' statuses (SUCCESS, FAILED, RETURNED, UNCLAIMED, ...)."""
        data = self._call("get", f"v1/payments/payouts/{payout_batch_id}")
        items = [item.get("transaction_status", "") for item in data.get("items") or []]
        return (data.get("batch_header") or {}).get("batch_status", ""), items

    # Webhooks -----------------------------------------------------------------------------------------------

    def verify_webhook(self, headers, event):
        """Ask PayPal whether the transmission headers sign this event for our webhook (never fetches cert_url)."""
        if not self.webhook_id:
            raise PayPalUnavailable("PAYPAL_WEBHOOK_ID is not configured: webhooks cannot be verified.")
        body = {
            "auth_algo": headers.get("PAYPAL-AUTH-ALGO"),
            "cert_url": headers.get("PAYPAL-CERT-URL"),
            "transmission_id": headers.get("PAYPAL-TRANSMISSION-ID"),
            "transmission_sig": headers.get("PAYPAL-TRANSMISSION-SIG"),
            "transmission_time": headers.get("PAYPAL-TRANSMISSION-TIME"),
            "webhook_id": self.webhook_id,
            "webhook_event": event,
        }
        if not all(body.values()):
            return False
        try:
            data = self._call("post", "v1/notifications/verify-webhook-signature", body)
        except PayPalRejected:
            return False
        return data.get("verification_status") == "SUCCESS"

    # Transport ----------------------------------------------------------------------------------------------

    def _call(self, method, path, body=None, request_id=None):
        headers = {"PayPal-Request-Id": request_id, "Prefer": "return=representation"} if request_id else {}
        try:
            if method == "get":
                data = self.api.get(path, headers=headers)
            else:
                data = self.api.post(path, body, headers=headers)
        except (requests.RequestException, paypal_errors.ServerError, paypal_errors.Redirection) as error:
            log.warning("PayPal %s %s unavailable: %s", method.upper(), path, error)
            raise PayPalUnavailable("PayPal is unavailable; nothing was charged or recorded, try again.") from None
        except paypal_errors.ConnectionError as error:  # the library's 4xx other than 400
            raise self._rejection(error) from None
        if isinstance(data, dict) and set(data) == {"error"}:  # the library returns a 400 instead of raising
            raise self._rejected(data["error"], 400)
        return data

    def _rejection(self, error):
        status = getattr(error.response, "status_code", None)
        if status == 429 or status in (401, 403):  # throttled, or our credentials: not the caller's fault
            log.error("PayPal refused our credentials or throttled us (%s)", status)
            return PayPalUnavailable("PayPal is unavailable; nothing was charged or recorded, try again.")
        try:
            payload = json.loads(error.content or "{}")
        except ValueError:
            payload = {}
        return self._rejected(payload, status)

    @staticmethod
    def _rejected(payload, status):
        payload = payload if isinstance(payload, dict) else {}
        name = payload.get("name") or payload.get("error") or "UNPROCESSABLE"
        details = [
            {key: detail.get(key) for key in ("issue", "description", "field") if detail.get(key)}
            for detail in payload.get("details") or [] if isinstance(detail, dict)
        ]
        message = payload.get("message") or payload.get("error_description") or "PayPal refused the request."
        return PayPalRejected(message, name=name, status=status, details=details)

    @staticmethod
    def _order(data):
        approve = next((link["href"] for link in data.get("links") or []
                        if link.get("rel") in ("approve", "payer-action")), None)
        capture = _first_capture(data)
        captured = None
        if capture and capture.get("amount"):
            captured = to_minor_units(capture["amount"]["value"], capture["amount"]["currency_code"])
        return Order(id=data["id"], status=data.get("status", ""), approve_url=approve,
                     capture_id=capture.get("id") if capture else None,
                     capture_status=capture.get("status") if capture else None, captured_cents=captured)


def _first_capture(order):
    for unit in order.get("purchase_units") or []:
        captures = (unit.get("payments") or {}).get("captures") or []
        if captures:
            return captures[0]
    return None


def gateway():
    """The app's gateway, made once per app from its config."""
    extensions = current_app.extensions
    if "paypal" not in extensions:
        extensions["paypal"] = PayPalGateway.from_config(current_app.config)
    return extensions["paypal"]
