from marshmallow import Schema, fields


class FeedTokenSchema(Schema):
    url = fields.String(metadata={"description": "Secret feed URL for calendar apps; shown once."})
    created_at = fields.AwareDateTime()
