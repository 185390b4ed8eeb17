from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.common.money import validate_currency
from app.tutors.models import LEVELS, MODES
from app.tutors.schemas import TutorCardSchema
from app.users.models import LEARNING_STYLES


class LocationSchema(Schema):
    lat = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    lon = fields.Float(required=True, validate=validate.Range(min=-180, max=180))


class TimeWindowSchema(Schema):
    start = fields.AwareDateTime(required=True)
    end = fields.AwareDateTime(required=True)

    @validates_schema
    def _ordered(self, data, **_kwargs):
        if "start" in data and "end" in data and data["end"] <= data["start"]:
            raise ValidationError("end must be after start.", "end")


class BudgetSchema(Schema):
    max_rate_cents = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10_000_000))
    currency = fields.String(required=True, validate=validate_currency)


class MatchRequestSchema(Schema):
    subject = fields.String(required=True, validate=validate.Length(min=1, max=60))
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    mode = fields.String(required=True, validate=validate.OneOf(MODES))
    location = fields.Nested(LocationSchema)
    preferred_times = fields.List(fields.Nested(TimeWindowSchema), validate=validate.Length(max=20))
    learning_styles = fields.List(fields.String(validate=validate.OneOf(LEARNING_STYLES)),
                                  validate=validate.Length(max=len(LEARNING_STYLES)),
                                  metadata={"description": "Defaults to the student's profile learning styles"})
    budget = fields.Nested(BudgetSchema)
    limit = fields.Integer(load_default=10, validate=validate.Range(min=1, max=50))


class MatchPartsSchema(Schema):
    expertise = fields.Float()
    rating = fields.Float()
    price_fit = fields.Float()
    distance = fields.Float()
    style_fit = fields.Float()
    availability = fields.Float()
    history = fields.Float()


class MatchSchema(Schema):
    tutor = fields.Nested(TutorCardSchema)
    score = fields.Float(metadata={"description": "Weighted mean of the parts, in [0, 1]"})
    parts = fields.Nested(MatchPartsSchema)
    reasons = fields.List(fields.String(), metadata={"description": "Why, strongest first"})


class MatchResultSchema(Schema):
    matches = fields.List(fields.Nested(MatchSchema))
    weights = fields.Dict(keys=fields.String(), values=fields.Float())
    candidates_considered = fields.Integer()
