"""Review input and output shapes. Ratings are integers 1–5; texts are bounded."""
from marshmallow import Schema, fields, validate

from app.common.inputs import Integer
from app.reviews.models import MODERATION_ACTIONS
from app.reviews.moderation import QUEUE_FILTERS

RATING = validate.Range(min=1, max=5)
COMMENT_MAX = 2000


def _rating():
    return Integer(validate=RATING, strict=True)


class ReviewInSchema(Schema):
    """Students send clarity, knowledge, responsiveness, punctuality, overall, would_recommend (+ comment);
    tutors send preparedness, engagement, punctuality (+ private_note, comment)."""

    clarity = _rating()
    knowledge = _rating()
    responsiveness = _rating()
    punctuality = _rating()
    overall = _rating()
    preparedness = _rating()
    engagement = _rating()
    comment = fields.String(validate=validate.Length(max=COMMENT_MAX), allow_none=True)
    would_recommend = fields.Boolean(truthy={True}, falsy={False})
    private_note = fields.String(validate=validate.Length(max=COMMENT_MAX), allow_none=True)


class ReplyInSchema(Schema):
    reply = fields.String(required=True, validate=validate.Length(min=1, max=COMMENT_MAX))


class FlagInSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=3, max=500))


class ModerationInSchema(Schema):
    action = fields.String(required=True, validate=validate.OneOf(MODERATION_ACTIONS))
    reason = fields.String(required=True, validate=validate.Length(min=3, max=500))


class ReviewListQuerySchema(Schema):
    sort = fields.String(load_default="newest", validate=validate.OneOf(("newest", "most_helpful")))


class AdminQueueQuerySchema(Schema):
    status = fields.String(load_default="queued", validate=validate.OneOf(QUEUE_FILTERS))


class ReviewSchema(Schema):
    """A review as participants and the public see it (never the private note)."""

    id = Integer()
    booking_id = Integer()
    tutor_id = Integer()
    student_id = Integer()
    author_id = Integer()
    author_name = fields.Function(lambda review: review.author.full_name)
    author_role = fields.String()
    ratings = fields.Dict(keys=fields.String(), values=Integer(allow_none=True))
    comment = fields.String()
    would_recommend = fields.Boolean(allow_none=True)
    reply = fields.String(allow_none=True)
    replied_at = fields.AwareDateTime(allow_none=True)
    helpful_count = Integer()
    released = fields.Function(lambda review: review.released_at is not None)
    created_at = fields.AwareDateTime()
    edited_at = fields.AwareDateTime(allow_none=True)


class MyReviewSchema(ReviewSchema):
    """The author's view of their own review."""

    private_note = fields.String(allow_none=True)
    status = fields.String()
    released_at = fields.AwareDateTime(allow_none=True)


class StudentRatingSchema(ReviewSchema):
    """Tutor → student ratings, for tutors the student books and admins."""

    private_note = fields.String(attribute="visible_note", allow_none=True, metadata={
        "description": "Only for the tutor who wrote it and admins; null for everyone else."})


class FlagSchema(Schema):
    user_id = Integer()
    reason = fields.String()
    created_at = fields.AwareDateTime()


class AdminReviewSchema(MyReviewSchema):
    queued = fields.Boolean()
    blocklisted = fields.Boolean()
    flag_count = Integer()
    flags = fields.List(fields.Nested(FlagSchema))


class ModerationEventSchema(Schema):
    admin_id = Integer(allow_none=True)
    action = fields.String()
    reason = fields.String()
    at = fields.AwareDateTime()


class TrendPointSchema(Schema):
    month = fields.String()
    count = Integer()
    average = fields.Float()


class RatingSummarySchema(Schema):
    tutor_id = Integer()
    count = Integer()
    average = fields.Float(allow_none=True, metadata={
        "description": "Mean overall rating, as the tutor's search card shows it (rating.average)"})
    averages = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True))
    bayesian = fields.Float(allow_none=True, metadata={
        "description": "The number search ranks by, as the card shows it (rating.bayesian)"})
    prior = fields.Dict(keys=fields.String(), values=fields.Float())
    distribution = fields.Dict(keys=fields.String(), values=Integer())
    recommend_rate = fields.Float(allow_none=True)
    trend = fields.List(fields.Nested(TrendPointSchema))


class DimensionInsightSchema(Schema):
    dimension = fields.String()
    average = fields.Float(allow_none=True)
    platform_median = fields.Float(allow_none=True)
    difference = fields.Float(allow_none=True)


class InsightsSchema(Schema):
    tutor_id = Integer()
    review_count = Integer()
    dimensions = fields.List(fields.Nested(DimensionInsightSchema))
    weakest_dimension = fields.String(allow_none=True)
    trend = fields.Dict()
    suggestions = fields.List(fields.String())


class RatingDropQuerySchema(Schema):
    threshold = fields.Float(load_default=0.5, validate=validate.Range(min=0, max=4))
    days = Integer(load_default=90, validate=validate.Range(min=7, max=365))


class RatingDropSchema(Schema):
    tutor_id = Integer()
    full_name = fields.String()
    recent_average = fields.Float()
    recent_count = Integer()
    prior_average = fields.Float()
    prior_count = Integer()
    drop = fields.Float()
