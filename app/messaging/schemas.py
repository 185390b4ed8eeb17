"""Input validation and output shapes for messaging (REST bodies and Socket.IO event payloads)."""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.common.inputs import Id, Integer
from app.messaging.services import MAX_ATTACHMENTS, MAX_BODY, MAX_LIMIT


def _id(strict=True, **kwargs):
    """A positive database id; strict (a JSON number, not a string) except in query strings."""
    return Id(strict=strict, **kwargs)


class _MessageContent(Schema):
    body = fields.String(load_default="", validate=validate.Length(max=MAX_BODY),
                         metadata={"example": "See you at 5pm!"})
    client_id = fields.String(validate=validate.Length(min=1, max=64),
                              metadata={"description": "Client-chosen id; a retry with the same id returns the "
                                                       "stored message instead of a duplicate"})
    attachment_ids = fields.List(_id(), load_default=list, validate=validate.Length(max=MAX_ATTACHMENTS))

    @validates_schema
    def _not_empty(self, data, **_kwargs):
        if not data.get("body", "").strip() and not data.get("attachment_ids"):
            raise ValidationError("A message needs a body or an attachment.", field_name="body")


class MessageCreateSchema(_MessageContent):
    """REST fallback body."""


class MessageSendEventSchema(_MessageContent):
    """Payload of the ``message:send`` event."""

    conversation_id = _id(required=True)
    client_id = fields.String(required=True, validate=validate.Length(min=1, max=64))


class ReadSchema(Schema):
    up_to_message_id = _id(required=True, metadata={"example": 42})


class ReadEventSchema(ReadSchema):
    conversation_id = _id(required=True)


class ConversationEventSchema(Schema):
    """Payload of ``conversation:join`` / ``conversation:leave``."""

    conversation_id = _id(required=True)


class TypingEventSchema(Schema):
    conversation_id = _id(required=True)
    is_typing = fields.Boolean(load_default=True)


class HeartbeatEventSchema(Schema):
    """``presence:heartbeat`` takes no fields."""


class PresenceQueryEventSchema(Schema):
    user_ids = fields.List(_id(), required=True, validate=validate.Length(min=1, max=200))


class ConversationCreateSchema(Schema):
    user_id = _id(required=True, metadata={"example": 7})


class HistoryQuerySchema(Schema):
    before = _id(strict=False, metadata={"description": "Cursor: only messages with a smaller id (the previous next_before)"})
    limit = Integer(load_default=50, validate=validate.Range(min=1, max=MAX_LIMIT))


class AttachmentUploadSchema(Schema):
    file = fields.Raw(metadata={"type": "string", "format": "binary"}, required=True)


# ---- output ----

class AttachmentSchema(Schema):
    id = Integer()
    filename = fields.String()
    content_type = fields.String()
    size = Integer()
    url = fields.String(metadata={"description": "Signed download URL; expires (UPLOAD_URL_MAX_AGE)"})


class LinkPreviewSchema(Schema):
    type = fields.String(metadata={"enum": ["google_drive", "dropbox"]})
    url = fields.String()
    file_id = fields.String()


class ChatMessageSchema(Schema):
    id = Integer()
    conversation_id = Integer()
    sender_id = Integer()
    body = fields.String()
    client_id = fields.String(allow_none=True)
    created_at = fields.String(metadata={"format": "date-time"})
    attachments = fields.List(fields.Nested(AttachmentSchema))
    link_previews = fields.List(fields.Nested(LinkPreviewSchema))
    kind = fields.String(metadata={"description": "text (a person wrote it) or booking (a system line about "
                                                  "the booking booking_id between the two)"})
    booking_id = Integer(allow_none=True)


class MessagePageSchema(Schema):
    messages = fields.List(fields.Nested(ChatMessageSchema), metadata={"description": "Newest first"})
    next_before = Integer(allow_none=True, metadata={"description": "Pass as `before` for older messages"})


class ConversationParticipantSchema(Schema):
    id = Integer()
    full_name = fields.String()
    online = fields.Boolean()
    last_read_message_id = Integer()


class ConversationSchema(Schema):
    id = Integer()
    kind = fields.String(metadata={"enum": ["pair", "booking"]})
    booking_id = Integer(allow_none=True)
    participants = fields.List(fields.Nested(ConversationParticipantSchema))
    last_message = fields.Nested(ChatMessageSchema, allow_none=True)
    unread_count = Integer()
    last_message_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    created_at = fields.String(metadata={"format": "date-time"})


class ReadReceiptSchema(Schema):
    conversation_id = Integer()
    user_id = Integer()
    last_read_message_id = Integer()
    unread_count = Integer()
