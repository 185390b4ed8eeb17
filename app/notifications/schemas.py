from marshmallow import Schema, fields


class NotificationSchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"example": "message"})
    title = fields.String()
    body = fields.String()
    data = fields.Dict(metadata={"example": {"conversation_id": 3, "message_id": 42}})
    read_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    created_at = fields.String(metadata={"format": "date-time"})


class NotificationQuerySchema(Schema):
    unread = fields.Boolean(metadata={"description": "true: only unread; false: only read; absent: all"})


class ReadAllResultSchema(Schema):
    updated = fields.Integer(metadata={"description": "How many notifications were marked read"})
