"""PayPal endpoints: wallet deposits (orders, capture, refunds), tutor payouts, the webhook, disputes (admin)."""
from flask import request
from flask.views import MethodView
from flask_jwt_extended import current_user

from app.common.api import Blueprint
from app.common.auth import auth_required, confirmed_email_required
from app.common.idempotency import IDEMPOTENCY_KEY_PARAMETER, current_key, idempotent
from app.common.pagination import MAX_PAGE_SIZE, paginate
from app.common.transactions import unit_of_work
from app.payments import deposits, payouts, webhooks
from app.payments.paypal_schemas import (
    AmountInSchema,
    DepositRefundSchema,
    DepositSchema,
    DisputeSchema,
    PayoutAccountSchema,
    PayoutSchema,
    RefundInSchema,
    WebhookAckSchema,
)

blp = Blueprint("paypal", __name__, url_prefix="/api/v1",
                description="PayPal: wallet deposits and their refunds, tutor payouts, PayPal's webhooks")

MONEY_ERRORS = "422: bad amount or currency; 403: email not confirmed; 503: PayPal unavailable (nothing recorded)."


@blp.route("/wallet/deposits")
class Deposits(MethodView):
    @auth_required()
    @confirmed_email_required
    @blp.doc(summary="My deposits", description="PayPal deposits into my wallet, newest first.")
    @blp.response(200, DepositSchema(many=True))
    @blp.alt_response(403, description="Email not confirmed")
    @blp.paginate(max_page_size=MAX_PAGE_SIZE)
    def get(self, pagination_parameters):
        return paginate(deposits.deposits_query(current_user), pagination_parameters)

    @auth_required()
    @confirmed_email_required
    @idempotent()
    @blp.doc(summary="Start a deposit", parameters=[IDEMPOTENCY_KEY_PARAMETER], description=(
        "Creates a PayPal order for `amount` (integer minor units) and answers its `approve_url`: send the buyer "
        "there, then call `POST /wallet/deposits/{id}/capture`. " + MONEY_ERRORS))
    @blp.arguments(AmountInSchema, examples={"deposit": {"value": {"amount": 2500, "currency": "USD"}}})
    @blp.response(201, DepositSchema)
    @blp.alt_response(403, description="Email not confirmed")
    @blp.alt_response(503, description="PayPal unavailable")
    @unit_of_work()
    def post(self, data):
        return deposits.create_deposit(current_user, data["amount"], data["currency"], current_key())


@blp.route("/wallet/deposits/<int:deposit_id>")
@auth_required()
@confirmed_email_required
@blp.doc(summary="One of my deposits", description="404 for another user's deposit.")
@blp.response(200, DepositSchema)
def get_deposit(deposit_id):
    return deposits.deposit_for_user(current_user, deposit_id)


@blp.route("/wallet/deposits/<int:deposit_id>/capture", methods=["POST"])
@auth_required()
@confirmed_email_required
@idempotent()
@blp.doc(summary="Capture an approved deposit", parameters=[IDEMPOTENCY_KEY_PARAMETER], description=(
    "After the buyer approved the order on PayPal: captures it and credits the wallet (once, whatever the "
    "retries; a second capture is 409). 409 too while the buyer has not approved. 503: PayPal unavailable."))
@blp.response(200, DepositSchema)
@blp.alt_response(409, description="Already captured, or not approved yet")
@blp.alt_response(503, description="PayPal unavailable")
@unit_of_work()
def capture_deposit(deposit_id):
    return deposits.capture_deposit(current_user, deposit_id, current_key())


@blp.route("/wallet/deposits/<int:deposit_id>/refunds")
class DepositRefunds(MethodView):
    @auth_required()
    @confirmed_email_required
    @blp.doc(summary="Refunds of one of my deposits", description="Oldest first, with PayPal's refund ids and "
             "statuses; refunds made at PayPal (webhooks) are listed too. 404 for another user's deposit.")
    @blp.response(200, DepositRefundSchema(many=True))
    def get(self, deposit_id):
        return deposits.refunds_of(deposits.deposit_for_user(current_user, deposit_id))

    @auth_required()
    @confirmed_email_required
    @idempotent()
    @blp.doc(summary="Refund unused deposit money to PayPal", parameters=[IDEMPOTENCY_KEY_PARAMETER], description=(
        "Gives `amount` back to the PayPal capture the deposit came from (several partial refunds up to the "
        "captured total). 422 above what the capture still holds, 402 above the wallet's balance, 409 for a "
        "deposit not captured, 503 when PayPal is unavailable (nothing recorded)."))
    @blp.arguments(RefundInSchema, examples={"partial": {"value": {"amount": 1000}}})
    @blp.response(201, DepositRefundSchema)
    @blp.alt_response(402, description="The wallet holds less")
    @blp.alt_response(409, description="Deposit not captured")
    @blp.alt_response(503, description="PayPal unavailable")
    @unit_of_work()
    def post(self, data, deposit_id):
        return deposits.refund_deposit(current_user, deposit_id, data["amount"], current_key())


@blp.route("/payouts/account")
class PayoutAccountView(MethodView):
    @auth_required("tutor")
    @blp.doc(summary="My payout account", description="The PayPal email payouts go to; 404 until saved.")
    @blp.response(200, PayoutAccountSchema)
    def get(self):
        return payouts.my_payout_account(current_user)

    @auth_required("tutor")
    @confirmed_email_required
    @blp.doc(summary="Save my payout account", description="The PayPal email my payouts are sent to.")
    @blp.arguments(PayoutAccountSchema, examples={"email": {"value": {"paypal_email": "maria@example.com"}}})
    @blp.response(200, PayoutAccountSchema)
    @unit_of_work()
    def put(self, data):
        return payouts.save_payout_account(current_user, data["paypal_email"].lower())


@blp.route("/payouts")
class Payouts(MethodView):
    @auth_required("tutor")
    @blp.doc(summary="My payouts", description="Newest first, with their PayPal status.")
    @blp.response(200, PayoutSchema(many=True))
    @blp.paginate(max_page_size=MAX_PAGE_SIZE)
    def get(self, pagination_parameters):
        return paginate(payouts.payouts_query(current_user), pagination_parameters)

    @auth_required("tutor")
    @confirmed_email_required
    @idempotent()
    @blp.doc(summary="Withdraw my earnings to PayPal", parameters=[IDEMPOTENCY_KEY_PARAMETER], description=(
        "Moves `amount` of my tutor earnings (`payable_minor`) to a PayPal Payout to my saved PayPal email. Needs "
        "a verified tutor profile and two-factor authentication (403), a saved payout account (409); 402 above "
        "the balance; 503 when PayPal is unavailable (nothing moved). A payout PayPal fails later returns the "
        "money."))
    @blp.arguments(AmountInSchema, examples={"payout": {"value": {"amount": 5000, "currency": "USD"}}})
    @blp.response(201, PayoutSchema)
    @blp.alt_response(402, description="Above the balance")
    @blp.alt_response(403, description="Not verified, no MFA, or email not confirmed")
    @blp.alt_response(409, description="No payout account saved")
    @blp.alt_response(503, description="PayPal unavailable")
    @unit_of_work()
    def post(self, data):
        return payouts.request_payout(current_user, data["amount"], data["currency"], current_key())


@blp.route("/payments/paypal/webhook", methods=["POST"])
@blp.doc(summary="PayPal webhook", security=[], description=(
    "Called by PayPal. The signature is checked through PayPal's verify-webhook-signature; each event id is "
    "applied once (capture completed, refunded, reversed; disputes; payout items). 400: forged, malformed or too "
    "old; 409: an event id already received."))
@blp.response(200, WebhookAckSchema)
@blp.alt_response(400, description="Forged, malformed or too old")
@blp.alt_response(409, description="Already received")
@unit_of_work()
def paypal_webhook():
    return webhooks.receive(request.headers, request.get_json(silent=True))


@blp.route("/admin/paypal/disputes")
@auth_required("admin")
@blp.doc(summary="PayPal disputes (admin)", description="Disputes received from PayPal, latest change first.")
@blp.response(200, DisputeSchema(many=True))
@blp.paginate(max_page_size=MAX_PAGE_SIZE)
def list_disputes(pagination_parameters):
    return paginate(webhooks.disputes_query(), pagination_parameters)
