from marshmallow import EXCLUDE, Schema, fields, validate

from app.common.inputs import Integer


class FeedTokenSchema(Schema):
    url = fields.String(metadata={"description": "Secret feed URL for calendar apps; shown once."})
    created_at = fields.AwareDateTime()


class ConnectionSchema(Schema):
    id = Integer(dump_only=True)
    provider = fields.String(metadata={"description": "google or outlook"})
    account_email = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "active, or broken (reconnect: POST /calendar/connections/"
                                                    "{provider} again)"})
    broken_reason = fields.String(allow_none=True, metadata={"description": "Why it is broken (e.g. the grant "
                                                                             "was revoked)"})
    last_synced_at = fields.AwareDateTime(allow_none=True, metadata={"description": "Last busy-time pull"})
    next_renewal_at = fields.AwareDateTime(allow_none=True, metadata={
        "description": "When the push channel is renewed; null: polled every CALENDAR_POLL_MINUTES"})
    push = fields.Method("_push", metadata={"description": "true: changes arrive by push notification; false: "
                                                           "polled"})
    backoff_until = fields.AwareDateTime(allow_none=True, metadata={"description": "Rate-limited until"})
    created_at = fields.AwareDateTime()

    def _push(self, connection):
        return connection.channel_id is not None


class AuthorizationSchema(Schema):
    authorization_url = fields.String(metadata={"description": "Send the user here; the provider redirects to "
                                                               "the callback with code and state"})
    expires_at = fields.AwareDateTime(metadata={"description": "The state is valid until then, once"})


class CallbackQuerySchema(Schema):
    state = fields.String(required=True, validate=validate.Length(min=1, max=200))
    code = fields.String(validate=validate.Length(min=1, max=2000))
    error = fields.String(validate=validate.Length(min=1, max=200))
    scope = fields.String(validate=validate.Length(max=2000), metadata={"description": "Ignored (Google adds it)"})
    authuser = fields.String(validate=validate.Length(max=20), metadata={"description": "Ignored (Google adds it)"})
    prompt = fields.String(validate=validate.Length(max=50), metadata={"description": "Ignored (Google adds it)"})
    hd = fields.String(validate=validate.Length(max=255), metadata={"description": "Ignored (Google adds it)"})
    iss = fields.String(validate=validate.Length(max=255), metadata={"description": "Ignored (Google adds it)"})


class GoogleNotificationHeadersSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    channel_id = fields.String(data_key="X-Goog-Channel-ID", required=True, validate=validate.Length(max=255))
    token = fields.String(data_key="X-Goog-Channel-Token", load_default=None, validate=validate.Length(max=256))
    resource_state = fields.String(data_key="X-Goog-Resource-State", required=True,
                                   validate=validate.Length(max=32))
    resource_id = fields.String(data_key="X-Goog-Resource-ID", load_default=None, validate=validate.Length(max=255))


class GraphValidationQuerySchema(Schema):
    validation_token = fields.String(data_key="validationToken", load_default=None,
                                     validate=validate.Length(min=1, max=1000))


class GraphNotificationItemSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    subscriptionId = fields.String(required=True, validate=validate.Length(max=255))  # noqa: N815 (Graph's name)
    clientState = fields.String(load_default=None, validate=validate.Length(max=256))  # noqa: N815
    changeType = fields.String(load_default=None)  # noqa: N815
    resource = fields.String(load_default=None)


class GraphNotificationSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    value = fields.List(fields.Nested(GraphNotificationItemSchema), load_default=list,
                        validate=validate.Length(max=1000))
