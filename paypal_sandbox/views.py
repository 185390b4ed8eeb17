"""The simulator's HTTP face: PayPal's paths under a prefix, and the approve page a person clicks."""
from flask import Blueprint, Flask, abort, jsonify, redirect, render_template_string, request

from paypal_sandbox.simulator import SimulatorError

APPROVE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>PayPal sandbox: approve payment</title>
<style>body{font-family:sans-serif;max-width:28rem;margin:4rem auto}button{font-size:1.1rem;padding:.5rem 1.5rem}</style>
</head><body>
<h1>PayPal sandbox</h1>
<p>Local simulator (development only). Order <code>{{ order.id }}</code>:
<strong>{{ amount }} {{ order.currency }}</strong>, status <strong>{{ order.status }}</strong>.</p>
{% if order.status == "CREATED" %}
<form method="post"><input type="hidden" name="token" value="{{ order.id }}">
<button name="decision" value="approve">Approve payment</button>
<button name="decision" value="cancel">Cancel</button></form>
{% elif order.status == "APPROVED" %}<p>Approved. Return to Tutorhub to finish the deposit.</p>
{% else %}<p>Nothing left to approve.</p>{% endif %}
</body></html>"""


class SimulatorViews:
    """PayPal's paths, each answering from ``simulator`` (a repeated PayPal-Request-Id replays the first answer)."""

    def __init__(self, simulator, url_prefix):
        self.simulator = simulator
        self.url_prefix = url_prefix or ""

    def base_url(self):
        return request.host_url.rstrip("/") + self.url_prefix

    def answer(self, produce, replayable=True):
        simulator = self.simulator
        try:
            simulator.check_token(request.headers.get("Authorization"))
            request_id = request.headers.get("PayPal-Request-Id")
            simulator.requests.append((request.method, request.path, request_id))
            failure = simulator.take_failure()
            if failure:
                return jsonify(name="INTERNAL_SERVICE_ERROR", message="An internal service error has occurred."), failure
            key = (request.path, request_id) if replayable and request_id else None
            status, body = simulator.replay(key, produce)
        except SimulatorError as error:
            status, body = error.status, error.body
        return jsonify(body), (200 if status == 201 and request.method == "GET" else status)

    @staticmethod
    def json_body():
        return request.get_json(silent=True)

    def token(self):
        try:
            return jsonify(self.simulator.issue_token(request.headers.get("Authorization")))
        except SimulatorError as error:
            return jsonify(error=error.body["name"], error_description=error.body["message"]), error.status

    def create_order(self):
        return self.answer(lambda: self.simulator.create_order(self.json_body(), self.base_url()))

    def get_order(self, order_id):
        return self.answer(lambda: self.simulator.order_view(order_id), replayable=False)

    def capture_order(self, order_id):
        return self.answer(lambda: self.simulator.capture_order(order_id))

    def refund_capture(self, capture_id):
        return self.answer(lambda: self.simulator.refund(capture_id, self.json_body()))

    def create_payout(self):
        return self.answer(lambda: self.simulator.create_payout(self.json_body()))

    def get_payout(self, batch_id):
        return self.answer(lambda: self.simulator.get_payout(batch_id), replayable=False)

    def verify_webhook_signature(self):
        body, status = self.answer(lambda: self.simulator.verify(self.json_body()), replayable=False)
        return body, (200 if status == 201 else status)

    def checkout(self):
        """The approve page: the buyer approves (or cancels) and goes back to the return (or cancel) URL."""
        order_id = request.values.get("token", "")
        order = self.simulator.orders.get(order_id)
        if order is None:
            abort(404)
        if request.method == "POST":
            approve = request.form.get("decision") == "approve"
            if approve:
                self.simulator.approve(order_id)
            target = order.get("return_url") if approve else order.get("cancel_url")
            if target:
                return redirect(f"{target}{'&' if '?' in target else '?'}token={order_id}&PayerID=SANDBOXPAYER")
        amount = self.simulator.order_view(order_id)["purchase_units"][0]["amount"]["value"]
        return render_template_string(APPROVE_PAGE, order=order, amount=amount)

    def simulate(self, kind):
        """Development helpers: a chargeback or a dispute on a capture, sent as a webhook."""
        capture_id = (request.get_json(silent=True) or {}).get("capture_id", "")
        if capture_id not in self.simulator.captures or kind not in ("reversal", "dispute"):
            abort(404)
        make = self.simulator.reverse if kind == "reversal" else self.simulator.dispute
        _headers, event = make(capture_id)
        return jsonify(event), 201


ROUTES = (
    ("/v1/oauth2/token", "token", ["POST"]),
    ("/v2/checkout/orders", "create_order", ["POST"]),
    ("/v2/checkout/orders/<order_id>", "get_order", ["GET"]),
    ("/v2/checkout/orders/<order_id>/capture", "capture_order", ["POST"]),
    ("/v2/payments/captures/<capture_id>/refund", "refund_capture", ["POST"]),
    ("/v1/payments/payouts", "create_payout", ["POST"]),
    ("/v1/payments/payouts/<batch_id>", "get_payout", ["GET"]),
    ("/v1/notifications/verify-webhook-signature", "verify_webhook_signature", ["POST"]),
    ("/checkoutnow", "checkout", ["GET", "POST"]),
    ("/simulate/<kind>", "simulate", ["POST"]),
)


def blueprint(simulator, url_prefix="/paypal-sandbox"):
    """A blueprint serving ``simulator`` under ``url_prefix`` (PAYPAL_API_BASE points there)."""
    bp = Blueprint("paypal_sandbox", __name__, url_prefix=url_prefix or None)
    views = SimulatorViews(simulator, url_prefix)
    for rule, name, methods in ROUTES:
        bp.add_url_rule(rule, name, getattr(views, name), methods=methods)
    return bp


def standalone_app(simulator, url_prefix=""):
    """The simulator as its own WSGI app (tests serve it with werkzeug's ``make_server``)."""
    app = Flask(__name__)
    app.register_blueprint(blueprint(simulator, url_prefix=url_prefix))
    return app
