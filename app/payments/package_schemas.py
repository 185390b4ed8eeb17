"""Schemas of packages and plans: tutors' offers, students' purchases (credits) and subscriptions.

Amounts are integer minor units of the offer's currency (the tutor's); session lengths are minutes."""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.common.inputs import Integer
from app.common.money import validate_currency
from app.payments.package_models import OFFER_KINDS, PURCHASE_STATES

MAX_SESSIONS = 50
MAX_PRICE = 10**9


class OfferInSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(OFFER_KINDS),
                         metadata={"description": "`package` (N sessions once) or `plan` (N sessions a month)"})
    title = fields.String(required=True, validate=validate.Length(2, 120))
    sessions = Integer(required=True, strict=True, min=1, max=MAX_SESSIONS,
                       metadata={"description": "Sessions in the package, or per month for a plan"})
    duration = Integer(required=True, strict=True, min=1, max=240, data_key="duration",
                       attribute="duration_minutes",
                       metadata={"description": "Session length in minutes, one of PACKAGE_SESSION_LENGTHS"})
    discount_percent = Integer(strict=True, min=0, max=90, load_default=0,
                               metadata={"description": "Packages: off the tutor's rate (0-90)"})
    price_minor = Integer(strict=True, min=1, max=MAX_PRICE,
                          metadata={"description": "Plans: the monthly price in minor units (required)"})
    currency = fields.String(validate=validate_currency,
                             metadata={"description": "Plans: must be the tutor's currency (the default)"})


class OfferPatchSchema(Schema):
    title = fields.String(validate=validate.Length(2, 120))
    sessions = Integer(strict=True, min=1, max=MAX_SESSIONS)
    duration = Integer(strict=True, min=1, max=240, attribute="duration_minutes")
    discount_percent = Integer(strict=True, min=0, max=90)
    price_minor = Integer(strict=True, min=1, max=MAX_PRICE)
    active = fields.Boolean(metadata={"description": "false: no longer offered (what was bought stays valid)"})

    @validates_schema
    def _not_empty(self, data, **_kwargs):
        if not data:
            raise ValidationError("Send at least one field to change.")


class OfferQuerySchema(Schema):
    kind = fields.String(validate=validate.OneOf(OFFER_KINDS))


class OfferSchema(Schema):
    id = Integer(attribute="offer.id")
    tutor_id = Integer(attribute="offer.tutor_id")
    kind = fields.String(attribute="offer.kind")
    title = fields.String(attribute="offer.title")
    sessions = Integer(attribute="offer.sessions")
    duration = Integer(attribute="offer.duration_minutes")
    discount_percent = Integer(attribute="offer.discount_percent")
    price_minor = Integer(allow_none=True, metadata={
        "description": "What buying costs today (a package: the tutor's rate × duration × sessions less the "
                       "discount; a plan: its monthly price); null while the tutor has no rate"})
    list_price_minor = Integer(allow_none=True, metadata={"description": "Packages: the price before the discount"})
    currency = fields.String(allow_none=True)
    active = fields.Boolean(attribute="offer.active")
    created_at = fields.AwareDateTime(attribute="offer.created_at")


class PurchaseSchema(Schema):
    id = Integer()
    offer_id = Integer()
    subscription_id = Integer(allow_none=True)
    tutor_id = Integer()
    kind = fields.String()
    title = fields.String()
    duration = Integer(attribute="duration_minutes", metadata={"description": "Bookings using a credit: this length"})
    credits_total = Integer()
    credits_used = Integer(metadata={"description": "Held by bookings (given back when one is refunded in full)"})
    credits_left = Integer(metadata={"description": "Usable now (`use_credit` in POST /bookings)"})
    price_minor = Integer()
    held_minor = Integer(metadata={"description": "The unused credits' money, in escrow"})
    currency = fields.String()
    state = fields.String(metadata={"description": ", ".join(PURCHASE_STATES)})
    period_start = fields.AwareDateTime(allow_none=True, metadata={"description": "Plans: the month's credits"})
    period_end = fields.AwareDateTime(allow_none=True)
    closed_minor = Integer(allow_none=True, metadata={
        "description": "Refunded to the wallet (cancelled package) or paid to the tutor (a plan month's unused "
                       "credits)"})
    created_at = fields.AwareDateTime()
    closed_at = fields.AwareDateTime(allow_none=True)


class SubscriptionSchema(Schema):
    id = Integer()
    plan_id = Integer(attribute="offer_id")
    tutor_id = Integer()
    state = fields.String(metadata={"description": "active, paused (a renewal the wallet could not pay) or "
                                                   "cancelled"})
    cancel_at_period_end = fields.Boolean()
    sessions = Integer()
    duration = Integer(attribute="duration_minutes")
    price_minor = Integer()
    currency = fields.String()
    periods = Integer(metadata={"description": "Months charged so far"})
    current_period_start = fields.AwareDateTime()
    current_period_end = fields.AwareDateTime(metadata={"description": "Renewed (charged) or ended then"})
    paused_at = fields.AwareDateTime(allow_none=True)
    cancelled_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()


class HoldingsSchema(Schema):
    purchases = fields.List(fields.Nested(PurchaseSchema), metadata={"description": "Active ones: my credits"})
    subscriptions = fields.List(fields.Nested(SubscriptionSchema), metadata={"description": "Active and paused"})


class PurchaseQuerySchema(Schema):
    state = fields.String(validate=validate.OneOf(PURCHASE_STATES))
