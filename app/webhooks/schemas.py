from marshmallow import Schema, fields, validate

from app.common.inputs import Integer
from app.webhooks.catalog import EVENT_TYPES
from app.webhooks.models import DELIVERY_STATUSES, SCOPES

EVENTS_DESCRIPTION = "Event types to receive: " + ", ".join(f"`{name}`" for name in EVENT_TYPES) + "."


class WebhookCreateSchema(Schema):
    url = fields.String(required=True, validate=validate.Length(min=8, max=2048),
                        metadata={"description": "https URL (http only where WEBHOOKS_REQUIRE_HTTPS is off); its host "
                                  "must resolve to public addresses.", "example": "https://hooks.example.com/tutorhub"})
    events = fields.List(fields.String(validate=validate.Length(max=60)), required=True,
                         validate=validate.Length(min=1, max=len(EVENT_TYPES)),
                         metadata={"description": EVENTS_DESCRIPTION})
    description = fields.String(load_default="", validate=validate.Length(max=200))
    scope = fields.String(load_default="own", validate=validate.OneOf(SCOPES),
                          metadata={"description": "`own`: events where the owner is a party; `all` (admins): every "
                                    "event of the chosen types."})


class WebhookUpdateSchema(Schema):
    url = fields.String(validate=validate.Length(min=8, max=2048))
    events = fields.List(fields.String(validate=validate.Length(max=60)),
                         validate=validate.Length(min=1, max=len(EVENT_TYPES)),
                         metadata={"description": EVENTS_DESCRIPTION})
    description = fields.String(validate=validate.Length(max=200))
    scope = fields.String(validate=validate.OneOf(SCOPES))
    active = fields.Boolean(metadata={"description": "`true` turns a disabled webhook back on (failures cleared)."})


class WebhookSchema(Schema):
    id = Integer()
    url = fields.String()
    description = fields.String()
    events = fields.List(fields.String())
    scope = fields.String()
    active = fields.Boolean()
    disabled_reason = fields.String(allow_none=True)
    failure_streak = Integer(metadata={"description": "Failed deliveries in a row."})
    secret_rotated_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class WebhookWithSecretSchema(WebhookSchema):
    secret = fields.String(metadata={"description": "The signing secret, shown only in this response."})


class AttemptSchema(Schema):
    number = Integer()
    attempted_at = fields.AwareDateTime()
    response_code = Integer(allow_none=True)
    duration_ms = Integer()
    error = fields.String(allow_none=True)


class DeliverySchema(Schema):
    id = Integer()
    event_id = fields.String()
    event_type = fields.String(attribute="event.type")
    status = fields.String(metadata={"description": "pending, retrying, delivered, failed or skipped"})
    attempts = Integer()
    response_code = Integer(attribute="last_response_code", allow_none=True)
    duration_ms = Integer(attribute="last_duration_ms", allow_none=True)
    error = fields.String(attribute="last_error", allow_none=True)
    next_retry_at = fields.Method("_next_retry", allow_none=True, metadata={"type": "string", "format": "date-time"})
    delivered_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()
    attempt_log = fields.List(fields.Nested(AttemptSchema), attribute="attempt_rows")

    def _next_retry(self, delivery):
        if delivery.status != "retrying" or delivery.next_attempt_at is None:
            return None
        return delivery.next_attempt_at.isoformat()


class DeliveryQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf(DELIVERY_STATUSES))
