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


def blueprint(simulator, url_prefix="/paypal-sandbox"):
    """A blueprint serving ``simulator`` under ``url_prefix`` (PAYPAL_API_BASE points there)."""
    bp = Blueprint("paypal_sandbox", __name__, url_prefix=url_prefix)

    def base_url():
        return request.host_url.rstrip("/") + (url_prefix or "")

    def answer(produce, authenticated=True, replayable=True):
        try:
            if authenticated:
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

    def json_body():
        return request.get_json(silent=True) if request.method == "POST" else None

    @bp.post("/v1/oauth2/token")
    def token():
        try:
            return jsonify(simulator.issue_token(request.headers.get("Authorization")))
        except SimulatorError as error:
            return jsonify(error=error.body["name"], error_description=error.body["message"]), error.status

    @bp.post("/v2/checkout/orders")
    def create_order():
        return answer(lambda: simulator.create_order(json_body(), base_url()))

    @bp.get("/v2/checkout/orders/<order_id>")
    def get_order(order_id):
        return answer(lambda: simulator.order_view(order_id), replayable=False)

    @bp.post("/v2/checkout/orders/<order_id>/capture")
    def capture_order(order_id):
        return answer(lambda: simulator.capture_order(order_id))

    @bp.post("/v2/payments/captures/<capture_id>/refund")
    def refund_capture(capture_id):
        return answer(lambda: simulator.refund(capture_id, json_body()))

    @bp.post("/v1/payments/payouts")
    def create_payout():
        return answer(lambda: simulator.create_payout(json_body()))

    @bp.get("/v1/payments/payouts/<batch_id>")
    def get_payout(batch_id):
        return answer(lambda: simulator.get_payout(batch_id), replayable=False)

    @bp.post("/v1/notifications/verify-webhook-signature")
    def verify_webhook_signature():
        status_body = answer(lambda: simulator.verify(json_body()), replayable=False)
        body, status = status_body
        return body, (200 if status == 201 else status)

    @bp.route("/checkoutnow", methods=["GET", "POST"])
    def checkout():
        order_id = request.values.get("token", "")
        order = simulator.orders.get(order_id)
        if order is None:
            abort(404)
        if request.method == "POST":
            if request.form.get("decision") == "approve":
                simulator.approve(order_id)
                target = order.get("return_url")
            else:
                target = order.get("cancel_url")
            if target:
                return redirect(f"{target}{'&' if '?' in target else '?'}token={order_id}&PayerID=SANDBOXPAYER")
        amount = simulator.order_view(order_id)["purchase_units"][0]["amount"]["value"]
        return render_template_string(APPROVE_PAGE, order=order, amount=amount)

    @bp.post("/simulate/<kind>")
    def simulate(kind):
        """Development helpers: a chargeback or a dispute on a capture, sent as a webhook."""
        capture_id = (request.get_json(silent=True) or {}).get("capture_id", "")
        if capture_id not in simulator.captures or kind not in ("reversal", "dispute"):
            abort(404)
        headers, event = simulator.reverse(capture_id) if kind == "reversal" else simulator.dispute(capture_id)
        return jsonify(event), 201

    return bp


def standalone_app(simulator, url_prefix=""):
    """The simulator as its own WSGI app (tests serve it with werkzeug's ``make_server``)."""
    app = Flask(__name__)
    app.register_blueprint(blueprint(simulator, url_prefix=url_prefix))
    return app
