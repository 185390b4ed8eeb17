"""Schemas of the PayPal endpoints: deposits, their refunds, payouts, the payout account, webhooks, disputes.

Amounts in are ``amount``: a whole number of minor units (strict: 10.0 or "10" is refused), positive, bounded;
amounts out are ``*_minor`` like the wallet's."""
from marshmallow import Schema, fields, validate

from app.common.inputs import Integer
from app.common.money import validate_currency

MAX_AMOUNT = 10**9  # minor units per operation (10,000,000.00 in a two-decimal currency)


class AmountInSchema(Schema):
    amount = Integer(required=True, strict=True, min=1, max=MAX_AMOUNT,
                     metadata={"description": "Integer minor units (cents), at least 1", "example": 2500})
    currency = fields.String(required=True, validate=validate_currency, metadata={"example": "USD"})


class RefundInSchema(Schema):
    amount = Integer(required=True, strict=True, min=1, max=MAX_AMOUNT,
                     metadata={"description": "Integer minor units of the deposit's currency", "example": 1000})


class DepositRefundSchema(Schema):
    id = Integer(dump_only=True)
    deposit_id = Integer()
    amount_minor = Integer()
    currency = fields.String()
    status = fields.String(metadata={"description": "PayPal's refund status (COMPLETED, PENDING)"})
    paypal_refund_id = fields.String()
    created_at = fields.DateTime()


class DepositSchema(Schema):
    id = Integer(dump_only=True)
    amount_minor = Integer()
    currency = fields.String()
    status = fields.String(metadata={"description": "created (waiting for the buyer's approval) or captured"})
    approve_url = fields.String(allow_none=True,
                                metadata={"description": "Send the buyer here to approve the payment on PayPal"})
    order_id = fields.String(metadata={"description": "PayPal's order id"})
    capture_id = fields.String(allow_none=True)
    captured_minor = Integer(allow_none=True)
    refunded_minor = Integer()
    refundable_minor = fields.Method("_refundable", metadata={"description": "What the capture still holds"})
    created_at = fields.DateTime()
    captured_at = fields.DateTime(allow_none=True)

    def _refundable(self, deposit):
        return (deposit.captured_minor or 0) - deposit.refunded_minor


class PayoutAccountSchema(Schema):
    paypal_email = fields.Email(required=True, validate=validate.Length(max=254),
                                metadata={"example": "maria.garcia@example.com"})
    updated_at = fields.DateTime(dump_only=True)


class PayoutSchema(Schema):
    id = Integer(dump_only=True)
    amount_minor = Integer()
    currency = fields.String()
    receiver_email = fields.String()
    status = fields.String(metadata={"description": "pending, succeeded or failed (the money went back to "
                                                    "tutor_payable)"})
    paypal_batch_id = fields.String(allow_none=True)
    failure_reason = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class WebhookAckSchema(Schema):
    event_id = fields.String()
    event_type = fields.String()
    outcome = fields.String(metadata={"description": "applied, already_applied, unmatched, ignored or review"})


class DisputeSchema(Schema):
    id = Integer(dump_only=True)
    dispute_id = fields.String()
    status = fields.String()
    reason = fields.String(allow_none=True)
    amount_minor = Integer(allow_none=True)
    currency = fields.String(allow_none=True)
    capture_id = fields.String(allow_none=True)
    deposit_id = Integer(allow_none=True)
    last_event_type = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
