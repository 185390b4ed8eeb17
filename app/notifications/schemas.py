from marshmallow import Schema, fields

from app.common.inputs import Integer


class NotificationSchema(Schema):
    id = Integer()
    kind = fields.String(metadata={"example": "message"})
    title = fields.String()
    body = fields.String()
    data = fields.Dict(metadata={"example": {"conversation_id": 3, "message_id": 42}})
    read_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    created_at = fields.String(metadata={"format": "date-time"})


class NotificationQuerySchema(Schema):
    unread = fields.Boolean(metadata={"description": "true: only unread; false: only read; absent: all"})


class ReadAllResultSchema(Schema):
    updated = Integer(metadata={"description": "How many notifications were marked read"})
