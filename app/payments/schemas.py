"""Wallet reads: balances per currency, pending holds, ledger entries."""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.common.inputs import Integer

TRANSACTION_KINDS = ("booking_hold", "booking_settlement", "deposit", "deposit_refund", "payout", "payout_return",
                     "seed_funding", "package_purchase", "package_refund", "package_lapse")


class BalanceSchema(Schema):
    currency = fields.String(metadata={"description": "ISO 4217"})
    available_minor = Integer(metadata={"description": "The wallet: what new bookings can hold"})
    held_minor = Integer(metadata={"description": "In escrow for pending or unreleased sessions"})
    credits_minor = Integer(metadata={"description": "In escrow for my unused package credits (GET /me/packages)"})
    payable_minor = Integer(metadata={"description": "Tutors: earned, not yet paid out"})


class HoldSchema(Schema):
    id = Integer()
    cause_type = fields.String()
    cause_id = Integer()
    amount_minor = Integer()
    currency = fields.String()
    release_after = fields.AwareDateTime(allow_none=True,
                                         metadata={"description": "Paid to the tutor after this instant"})
    created_at = fields.AwareDateTime()


class WalletSchema(Schema):
    balances = fields.List(fields.Nested(BalanceSchema))
    pending_holds = fields.List(fields.Nested(HoldSchema))


class EntrySchema(Schema):
    id = Integer()
    transaction_id = Integer()
    kind = fields.String(attribute="transaction.kind")
    account = fields.String(attribute="account.kind", metadata={"description": "wallet or tutor_payable"})
    amount_minor = Integer(metadata={"description": "Positive: money in; negative: money out"})
    currency = fields.String()
    cause_type = fields.String(attribute="transaction.cause_type")
    cause_id = Integer(attribute="transaction.cause_id", allow_none=True)
    memo = fields.String(attribute="transaction.memo", allow_none=True)
    idempotency_key = fields.String(attribute="transaction.idempotency_key", allow_none=True)
    created_at = fields.AwareDateTime(attribute="transaction.created_at")


class TransactionQuerySchema(Schema):
    kind = fields.String(validate=validate.Length(1, 40),
                         metadata={"description": f"A transaction kind, e.g. {', '.join(TRANSACTION_KINDS)}"})
    since = fields.AwareDateTime(metadata={"description": "At or after (ISO 8601 with offset)"})
    until = fields.AwareDateTime(metadata={"description": "Before (ISO 8601 with offset)"})

    @validates_schema
    def _ordered(self, data, **_kwargs):
        if data.get("since") and data.get("until") and data["since"] >= data["until"]:
            raise ValidationError("Must be after since.", field_name="until")
