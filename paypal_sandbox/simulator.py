"""The simulator's state and rules: orders, captures, refunds, payouts and signed webhook events, in memory."""
import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
import zlib
from datetime import UTC, datetime

import requests

# PayPal's decimal places per currency (the subset Tutorhub accepts).
DECIMALS = {"USD": 2, "EUR": 2, "GBP": 2, "CAD": 2, "AUD": 2, "CHF": 2, "JPY": 0, "INR": 2, "SGD": 2}
FAILING_PAYOUT_DOMAIN = "@fail.example"  # payouts to these receivers fail, as an unknown account would


class SimulatorError(Exception):
    """A PayPal error answer: HTTP status, PayPal's ``name``, a message and the issue in ``details``."""

    def __init__(self, status, name, message, issue=None):
        super().__init__(message)
        self.status = status
        self.body = {"name": name, "message": message, "debug_id": secrets.token_hex(6)}
        if issue:
            self.body["details"] = [{"issue": issue, "description": message}]


def _now():
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _new_id(prefix=""):
    return prefix + secrets.token_hex(8).upper()


def _minor(amount, field="amount"):
    """Minor units of a PayPal amount object, or the 400/422 PayPal answers for a malformed one."""
    if not isinstance(amount, dict):
        raise SimulatorError(400, "INVALID_REQUEST", f"{field} is required.", "MISSING_REQUIRED_PARAMETER")
    currency = amount.get("currency_code") or amount.get("currency")
    value = amount.get("value")
    if currency not in DECIMALS:
        raise SimulatorError(400, "INVALID_REQUEST", f"{field}.currency_code is not supported.",
                             "CURRENCY_NOT_SUPPORTED")
    decimals = DECIMALS[currency]
    pattern = r"\d{1,10}" + (rf"(\.\d{{1,{decimals}}})?" if decimals else "")
    if not isinstance(value, str) or not re.fullmatch(pattern, value):
        raise SimulatorError(400, "INVALID_REQUEST", f"{field}.value is not a valid amount.", "INVALID_PARAMETER_SYNTAX")
    whole, _, fraction = value.partition(".")
    cents = int(whole) * 10**decimals + (int(fraction.ljust(decimals, "0")) if decimals else 0)
    if cents <= 0:
        raise SimulatorError(422, "UNPROCESSABLE_ENTITY", f"{field} must be greater than zero.",
                             "CANNOT_BE_ZERO_OR_NEGATIVE")
    return cents, currency


def _amount(cents, currency):
    decimals = DECIMALS[currency]
    value = str(cents) if not decimals else f"{cents // 10**decimals}.{cents % 10**decimals:0{decimals}d}"
    return {"currency_code": currency, "value": value}


class Simulator:
    """One PayPal account's worth of state; every public method is thread-safe."""

    def __init__(self, client_id="sandbox-client-id", client_secret="sandbox-client-secret",
                 webhook_id="WH-SANDBOX", webhook_url=None, deliver_async=False, delivery_delay=0.5):
        self.client_id = client_id
        self.client_secret = client_secret
        self.webhook_id = webhook_id
        self.webhook_url = webhook_url
        self.deliver_async = deliver_async
        self.delivery_delay = delivery_delay
        self.lock = threading.RLock()
        self.reset()

    def reset(self):
        """Forget every order, capture, refund, payout, token, event and queued fault (tests start afresh)."""
        with self.lock:
            self.orders = {}
            self.captures = {}
            self.refunds = {}
            self.payouts = {}
            self.tokens = set()
            self.replies = {}
            self.events = []  # every event made, signed: (headers, body)
            self.requests = []  # (method, path, PayPal-Request-Id) of every API call, for tests
            self._failures = []
            self._secret = secrets.token_bytes(32)

    # Faults -------------------------------------------------------------------------------------------------

    def fail_next(self, status=503, times=1):
        """The next ``times`` API calls (not token requests) answer ``status`` without doing anything."""
        with self.lock:
            self._failures.extend([status] * times)

    def take_failure(self):
        with self.lock:
            return self._failures.pop(0) if self._failures else None

    # OAuth --------------------------------------------------------------------------------------------------

    def issue_token(self, authorization):
        expected = "Basic " + base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if not hmac.compare_digest(authorization or "", expected):
            raise SimulatorError(401, "invalid_client", "Client Authentication failed")
        token = "A21AA" + secrets.token_urlsafe(24)
        with self.lock:
            self.tokens.add(token)
        return {"scope": "https://uri.paypal.com/services/payments/payment", "access_token": token,
                "token_type": "Bearer", "app_id": "APP-SANDBOX", "expires_in": 32400, "nonce": _now()}

    def check_token(self, authorization):
        token = (authorization or "").removeprefix("Bearer ")
        if token not in self.tokens:
            raise SimulatorError(401, "AUTHENTICATION_FAILURE", "Authentication failed due to invalid token.")

    def replay(self, key, produce):
        """PayPal-Request-Id: the first answer for ``key`` is the answer to every repeat."""
        with self.lock:
            if key is not None and key in self.replies:
                return self.replies[key]
            try:
                answer = (201, produce())
            except SimulatorError as error:
                answer = (error.status, error.body)
            if key is not None and answer[0] < 500:
                self.replies[key] = answer
            return answer

    # Orders -------------------------------------------------------------------------------------------------

    def create_order(self, body, base_url):
        if not isinstance(body, dict) or body.get("intent") != "CAPTURE":
            raise SimulatorError(400, "INVALID_REQUEST", "intent must be CAPTURE.", "INVALID_PARAMETER_VALUE")
        units = body.get("purchase_units")
        if not isinstance(units, list) or len(units) != 1 or not isinstance(units[0], dict):
            raise SimulatorError(400, "INVALID_REQUEST", "One purchase unit is required.", "INVALID_ARRAY_LENGTH")
        cents, currency = _minor(units[0].get("amount"), "purchase_units[0].amount")
        order_id = _new_id()
        context = body.get("application_context") or {}
        order = {
            "id": order_id, "status": "CREATED", "intent": "CAPTURE", "create_time": _now(),
            "cents": cents, "currency": currency, "custom_id": units[0].get("custom_id"),
            "reference_id": units[0].get("reference_id") or "default",
            "return_url": context.get("return_url"), "cancel_url": context.get("cancel_url"), "capture_id": None,
            "base_url": base_url,
        }
        self.orders[order_id] = order
        return self.order_view(order_id)

    def order_view(self, order_id):
        with self.lock:
            order = self._order(order_id)
            base = order["base_url"]
            unit = {"reference_id": order["reference_id"], "custom_id": order["custom_id"],
                    "amount": _amount(order["cents"], order["currency"])}
            if order["capture_id"]:
                unit["payments"] = {"captures": [self.capture_view(order["capture_id"])]}
            links = [{"href": f"{base}/v2/checkout/orders/{order_id}", "rel": "self", "method": "GET"}]
            if order["status"] in ("CREATED", "APPROVED"):
                links.append({"href": f"{base}/checkoutnow?token={order_id}", "rel": "approve", "method": "GET"})
            if order["status"] == "APPROVED":
                links.append({"href": f"{base}/v2/checkout/orders/{order_id}/capture", "rel": "capture",
                              "method": "POST"})
            return {"id": order_id, "status": order["status"], "intent": "CAPTURE", "purchase_units": [unit],
                    "create_time": order["create_time"], "links": links}

    def _order(self, order_id):
        order = self.orders.get(order_id)
        if order is None:
            raise SimulatorError(404, "RESOURCE_NOT_FOUND", "The specified resource does not exist.",
                                 "INVALID_RESOURCE_ID")
        return order

    def approve(self, order_id):
        """What the buyer's click on the approve page does."""
        with self.lock:
            order = self._order(order_id)
            if order["status"] == "CREATED":
                order["status"] = "APPROVED"
            return order

    def capture_order(self, order_id):
        with self.lock:
            order = self._order(order_id)
            if order["status"] == "COMPLETED":
                raise SimulatorError(422, "UNPROCESSABLE_ENTITY", "Order already captured.",
                                     "ORDER_ALREADY_CAPTURED")
            if order["status"] != "APPROVED":
                raise SimulatorError(422, "UNPROCESSABLE_ENTITY", "The payer has not yet approved the Order.",
                                     "ORDER_NOT_APPROVED")
            capture_id = _new_id("CAP")
            self.captures[capture_id] = {"id": capture_id, "order_id": order_id, "cents": order["cents"],
                                         "currency": order["currency"], "refunded": 0, "status": "COMPLETED",
                                         "custom_id": order["custom_id"], "create_time": _now()}
            order["capture_id"] = capture_id
            order["status"] = "COMPLETED"
            self.emit("PAYMENT.CAPTURE.COMPLETED", self.capture_view(capture_id))
            return self.order_view(order_id)

    def capture_view(self, capture_id):
        capture = self.captures[capture_id]
        return {"id": capture_id, "status": capture["status"], "amount": _amount(capture["cents"], capture["currency"]),
                "custom_id": capture["custom_id"], "final_capture": True, "create_time": capture["create_time"],
                "supplementary_data": {"related_ids": {"order_id": capture["order_id"]}}}

    # Refunds ------------------------------------------------------------------------------------------------

    def refund(self, capture_id, body):
        with self.lock:
            capture = self.captures.get(capture_id)
            if capture is None:
                raise SimulatorError(404, "RESOURCE_NOT_FOUND", "The specified resource does not exist.",
                                     "INVALID_RESOURCE_ID")
            remaining = capture["cents"] - capture["refunded"]
            if body and body.get("amount") is not None:
                cents, currency = _minor(body["amount"])
                if currency != capture["currency"]:
                    raise SimulatorError(422, "UNPROCESSABLE_ENTITY", "Refund currency differs from the capture's.",
                                         "REFUND_CAPTURE_CURRENCY_MISMATCH")
            else:
                cents = remaining
            if remaining <= 0:
                raise SimulatorError(422, "UNPROCESSABLE_ENTITY", "Capture has already been fully refunded.",
                                     "CAPTURE_FULLY_REFUNDED")
            if cents > remaining:
                raise SimulatorError(422, "UNPROCESSABLE_ENTITY", "The refund amount exceeds the capture's remaining.",
                                     "REFUND_AMOUNT_EXCEEDED")
            capture["refunded"] += cents
            capture["status"] = "REFUNDED" if capture["refunded"] == capture["cents"] else "PARTIALLY_REFUNDED"
            refund_id = _new_id("RF")
            refund = {"id": refund_id, "status": "COMPLETED", "amount": _amount(cents, capture["currency"]),
                      "create_time": _now(), "custom_id": capture["custom_id"],
                      "links": [{"href": f"/v2/payments/captures/{capture_id}", "rel": "up", "method": "GET"}]}
            self.refunds[refund_id] = refund
            self.emit("PAYMENT.CAPTURE.REFUNDED", refund)
            return refund

    def reverse(self, capture_id):
        """A chargeback takes the capture's remaining money back (PAYMENT.CAPTURE.REVERSED)."""
        with self.lock:
            capture = self.captures[capture_id]
            remaining = capture["cents"] - capture["refunded"]
            capture["refunded"] = capture["cents"]
            capture["status"] = "REVERSED"
            resource = self.capture_view(capture_id) | {"amount": _amount(remaining, capture["currency"])}
            return self.emit("PAYMENT.CAPTURE.REVERSED", resource)

    def dispute(self, capture_id, status="OPEN", reason="MERCHANDISE_OR_SERVICE_NOT_RECEIVED", dispute_id=None):
        with self.lock:
            capture = self.captures[capture_id]
            dispute_id = dispute_id or _new_id("PP-D-")
            resource = {
                "dispute_id": dispute_id, "status": status, "reason": reason, "create_time": _now(),
                "dispute_amount": _amount(capture["cents"], capture["currency"]),
                "disputed_transactions": [{"seller_transaction_id": capture_id, "custom": capture["custom_id"]}],
            }
            kind = "CUSTOMER.DISPUTE.RESOLVED" if status == "RESOLVED" else "CUSTOMER.DISPUTE.CREATED"
            return self.emit(kind, resource)

    # Payouts ------------------------------------------------------------------------------------------------

    def create_payout(self, body):
        with self.lock:
            header = (body or {}).get("sender_batch_header") or {}
            batch_key = header.get("sender_batch_id")
            items = (body or {}).get("items")
            if not batch_key or not isinstance(items, list) or len(items) != 1:
                raise SimulatorError(400, "VALIDATION_ERROR", "Invalid request - see details.", "MISSING_PARAMETER")
            if any(payout["sender_batch_id"] == batch_key for payout in self.payouts.values()):
                raise SimulatorError(400, "USER_BUSINESS_ERROR", "Batch with given sender_batch_id already exists.",
                                     "DUPLICATE_SENDER_BATCH_ID")
            item = items[0]
            cents, currency = _minor(item.get("amount"), "items[0].amount")
            receiver = str(item.get("receiver") or "")
            status = "FAILED" if receiver.endswith(FAILING_PAYOUT_DOMAIN) else "SUCCESS"
            batch_id = _new_id("PB")
            self.payouts[batch_id] = {"sender_batch_id": batch_key, "receiver": receiver, "cents": cents,
                                      "currency": currency, "item_id": _new_id("PI"), "status": status,
                                      "sender_item_id": item.get("sender_item_id")}
            self.emit("PAYMENT.PAYOUTS-ITEM.SUCCEEDED" if status == "SUCCESS" else "PAYMENT.PAYOUTS-ITEM.FAILED",
                      self.payout_item_view(batch_id))
            return {"batch_header": {"payout_batch_id": batch_id, "batch_status": "PENDING",
                                     "sender_batch_header": header}}

    def payout_item_view(self, batch_id):
        payout = self.payouts[batch_id]
        return {"payout_item_id": payout["item_id"], "payout_batch_id": batch_id,
                "transaction_status": payout["status"],
                "payout_item": {"receiver": payout["receiver"], "sender_item_id": payout["sender_item_id"],
                                "amount": {"currency": payout["currency"],
                                           "value": _amount(payout["cents"], payout["currency"])["value"]}}}

    def get_payout(self, batch_id):
        with self.lock:
            if batch_id not in self.payouts:
                raise SimulatorError(404, "INVALID_RESOURCE_ID", "Requested resource ID was not found.")
            payout = self.payouts[batch_id]
            return {"batch_header": {"payout_batch_id": batch_id, "batch_status": "SUCCESS",
                                     "sender_batch_header": {"sender_batch_id": payout["sender_batch_id"]}},
                    "items": [self.payout_item_view(batch_id)]}

    # Webhooks -----------------------------------------------------------------------------------------------

    def _signature(self, transmission_id, transmission_time, webhook_id, event):
        canonical = json.dumps(event, sort_keys=True, separators=(",", ":")).encode()
        message = f"{transmission_id}|{transmission_time}|{webhook_id}|{zlib.crc32(canonical)}".encode()
        return base64.b64encode(hmac.new(self._secret, message, hashlib.sha256).digest()).decode()

    def sign(self, event, transmission_time=None):
        """Transmission headers for ``event``, as PayPal sends them with a webhook."""
        transmission_id = secrets.token_hex(16)
        transmission_time = transmission_time or _now()
        return {
            "PAYPAL-AUTH-ALGO": "SHA256withRSA",
            "PAYPAL-CERT-URL": "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-SANDBOX",
            "PAYPAL-TRANSMISSION-ID": transmission_id,
            "PAYPAL-TRANSMISSION-TIME": transmission_time,
            "PAYPAL-TRANSMISSION-SIG": self._signature(transmission_id, transmission_time, self.webhook_id, event),
        }

    def verify(self, body):
        """``POST /v1/notifications/verify-webhook-signature``: SUCCESS only for our own, unaltered events."""
        fields = ("auth_algo", "cert_url", "transmission_id", "transmission_sig", "transmission_time",
                  "webhook_id", "webhook_event")
        if not isinstance(body, dict) or any(not body.get(name) for name in fields):
            raise SimulatorError(400, "VALIDATION_ERROR", "Invalid request - see details.", "MISSING_PARAMETER")
        if not isinstance(body["webhook_event"], dict):
            raise SimulatorError(400, "VALIDATION_ERROR", "webhook_event must be an object.", "INVALID_PARAMETER")
        expected = self._signature(body["transmission_id"], body["transmission_time"], self.webhook_id,
                                   body["webhook_event"])
        ok = body["webhook_id"] == self.webhook_id and hmac.compare_digest(str(body["transmission_sig"]), expected)
        return {"verification_status": "SUCCESS" if ok else "FAILURE"}

    def emit(self, event_type, resource):
        """Make a signed event; deliver it to ``webhook_url`` in the background when that is set."""
        event = {"id": _new_id("WH-"), "event_version": "1.0", "create_time": _now(),
                 "resource_type": event_type.split(".")[-2].lower(), "event_type": event_type,
                 "summary": event_type, "resource": resource}
        signed = (self.sign(event), event)
        with self.lock:
            self.events.append(signed)
        if self.webhook_url and self.deliver_async:
            threading.Thread(target=self._deliver, args=signed, daemon=True).start()
        return signed

    def _deliver(self, headers, event):
        time.sleep(self.delivery_delay)  # after the API call that caused it has answered
        for attempt in range(3):
            try:
                response = requests.post(self.webhook_url, json=event, headers=headers, timeout=10)
                if response.status_code < 500:
                    return
            except requests.RequestException:
                pass
            time.sleep(2**attempt)
