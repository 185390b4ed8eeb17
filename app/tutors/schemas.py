import re

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from app.common.inputs import Integer
from app.common.money import validate_currency
from app.common.pagination import MAX_PAGE_SIZE  # noqa: F401  (documented bound, used by routes)
from app.tutors.documents import document_download_url
from app.tutors.models import DOCUMENT_KINDS, DOCUMENT_STATUSES, LEVELS, MODES
from app.users.models import LEARNING_STYLES

LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")


class SubjectSchema(Schema):
    id = Integer(dump_only=True)
    slug = fields.String()
    name = fields.String()
    category = fields.String()


class TutorSubjectSchema(Schema):
    slug = fields.String(attribute="subject.slug")
    name = fields.String(attribute="subject.name")
    level = fields.String()


class RatingSummarySchema(Schema):
    average = fields.Float(attribute="rating_avg", allow_none=True)
    count = Integer(attribute="rating_count")
    bayesian = fields.Float(attribute="rating_bayes", allow_none=True,
                            metadata={"description": "Bayesian average used for ranking"})


_RATING_SUMMARY = RatingSummarySchema()  # one instance: building a schema per card costs more than the dump


class TutorCardSchema(Schema):
    """What a search result shows of a tutor."""

    id = Integer()
    full_name = fields.String()
    headline = fields.String()
    rate_cents = Integer()
    currency = fields.String()
    mode = fields.String()
    city = fields.String(allow_none=True)
    country = fields.String(allow_none=True)
    languages = fields.List(fields.String())
    teaching_styles = fields.List(fields.String())
    years_experience = Integer()
    offers_trial = fields.Boolean()
    verified = fields.Boolean()
    subjects = fields.List(fields.Nested(TutorSubjectSchema))
    rating = fields.Function(lambda profile: _RATING_SUMMARY.dump(profile))
    distance_km = fields.Float(allow_none=True, metadata={"description": "Only when searching near a point"})


class PublicTutorSchema(TutorCardSchema):
    """A tutor's public page; exact coordinates stay private."""

    bio = fields.String()
    travel_radius_km = Integer(allow_none=True)
    created_at = fields.AwareDateTime()


class MyTutorProfileSchema(PublicTutorSchema):
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)
    updated_at = fields.AwareDateTime()


class SubjectLevelSchema(Schema):
    subject = fields.String(required=True, validate=validate.Length(min=1, max=60))
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))


def _language(value):
    if not LANGUAGE_CODE.match(value):
        raise ValidationError("Use an ISO 639 code such as 'en' or 'ja'.")


class TutorProfileInSchema(Schema):
    """PUT /tutors/me: the whole profile; omitted optional fields take their default."""

    headline = fields.String(required=True, validate=validate.Length(min=1, max=160))
    bio = fields.String(load_default="", validate=validate.Length(max=4000))
    rate_cents = Integer(required=True, strict=True, validate=validate.Range(min=0, max=10_000_000))
    currency = fields.String(required=True, validate=validate_currency)
    subjects = fields.List(fields.Nested(SubjectLevelSchema), required=True, validate=validate.Length(min=1, max=30))
    languages = fields.List(fields.String(validate=_language), load_default=list, validate=validate.Length(max=10))
    teaching_styles = fields.List(fields.String(validate=validate.OneOf(LEARNING_STYLES)), load_default=list,
                                  validate=validate.Length(max=len(LEARNING_STYLES)))
    mode = fields.String(required=True, validate=validate.OneOf(MODES))
    city = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    country = fields.String(load_default=None, allow_none=True,
                            validate=validate.Regexp(r"^[A-Z]{2}$", error="Use an ISO 3166 alpha-2 code such as 'FR'."))
    latitude = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=-90, max=90))
    longitude = fields.Float(load_default=None, allow_none=True, validate=validate.Range(min=-180, max=180))
    travel_radius_km = Integer(load_default=None, allow_none=True, validate=validate.Range(min=0, max=500))
    years_experience = Integer(load_default=0, validate=validate.Range(min=0, max=80))
    offers_trial = fields.Boolean(load_default=False)

    @validates_schema
    def _location(self, data, **_kwargs):
        if (data.get("latitude") is None) != (data.get("longitude") is None):
            raise ValidationError("Give both latitude and longitude, or neither.", "latitude")
        if data.get("mode") in ("in_person", "both") and data.get("latitude") is None:
            raise ValidationError("In-person tutoring needs a location (latitude and longitude).", "latitude")

    @post_load
    def _normalize(self, data, **_kwargs):
        data["languages"] = sorted(set(data.get("languages", [])))
        data["teaching_styles"] = sorted(set(data.get("teaching_styles", [])))
        return data


class DocumentSchema(Schema):
    id = Integer()
    kind = fields.String()
    status = fields.String()
    reason = fields.String(allow_none=True)
    content_type = fields.String()
    size_bytes = Integer()
    original_filename = fields.String()
    created_at = fields.AwareDateTime()
    decided_at = fields.AwareDateTime(allow_none=True)
    download_url = fields.Function(document_download_url, metadata={"description": "Signed URL, expires"})


class DocumentTutorSchema(Schema):
    id = Integer()
    full_name = fields.String()
    email = fields.String()


class AdminDocumentSchema(DocumentSchema):
    tutor = fields.Nested(DocumentTutorSchema)
    decided_by_id = Integer(allow_none=True)


class DocumentUploadSchema(Schema):
    """The multipart/form-data body of a document upload: a form field and a file."""

    kind = fields.String(required=True, validate=validate.OneOf(DOCUMENT_KINDS))
    file = fields.Raw(metadata={"type": "string", "format": "binary"}, required=True)


class DocumentDecisionSchema(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(("approve", "reject")))
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))

    @validates_schema
    def _reason_on_reject(self, data, **_kwargs):
        if data.get("decision") == "reject" and not (data.get("reason") or "").strip():
            raise ValidationError("A reason is required when rejecting.", "reason")


class DocumentQuerySchema(Schema):
    status = fields.String(load_default="pending", validate=validate.OneOf(DOCUMENT_STATUSES + ("all",)))
