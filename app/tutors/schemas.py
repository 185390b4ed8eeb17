import re

from marshmallow import (
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from app.common.money import validate_currency
from app.common.pagination import MAX_PAGE_SIZE  # noqa: F401  (documented bound, used by routes)
from app.tutors.documents import document_download_url
from app.tutors.models import DOCUMENT_KINDS, DOCUMENT_STATUSES, LEVELS, MODES
from app.users.models import LEARNING_STYLES

LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")
MAX_NEAR_RADIUS_KM = 500
DEFAULT_NEAR_RADIUS_KM = 25
SORTS = ("relevance", "rating", "price", "distance")


class SubjectSchema(Schema):
    id = fields.Integer(dump_only=True)
    slug = fields.String()
    name = fields.String()
    category = fields.String()


class TutorSubjectSchema(Schema):
    slug = fields.String(attribute="subject.slug")
    name = fields.String(attribute="subject.name")
    level = fields.String()


class RatingSummarySchema(Schema):
    average = fields.Float(attribute="rating_avg", allow_none=True)
    count = fields.Integer(attribute="rating_count")
    bayesian = fields.Float(attribute="rating_bayes", allow_none=True,
                            metadata={"description": "Bayesian average used for ranking"})


_RATING_SUMMARY = RatingSummarySchema()  # one instance: building a schema per card costs more than the dump


class TutorCardSchema(Schema):
    """What a search result shows of a tutor."""

    id = fields.Integer()
    full_name = fields.String()
    headline = fields.String()
    rate_cents = fields.Integer()
    currency = fields.String()
    mode = fields.String()
    city = fields.String(allow_none=True)
    country = fields.String(allow_none=True)
    languages = fields.List(fields.String())
    teaching_styles = fields.List(fields.String())
    years_experience = fields.Integer()
    offers_trial = fields.Boolean()
    verified = fields.Boolean()
    subjects = fields.List(fields.Nested(TutorSubjectSchema))
    rating = fields.Function(lambda profile: _RATING_SUMMARY.dump(profile))
    distance_km = fields.Float(allow_none=True, metadata={"description": "Only when searching near a point"})


class PublicTutorSchema(TutorCardSchema):
    """A tutor's public page; exact coordinates stay private."""

    bio = fields.String()
    travel_radius_km = fields.Integer(allow_none=True)
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
    rate_cents = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=10_000_000))
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
    travel_radius_km = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0, max=500))
    years_experience = fields.Integer(load_default=0, validate=validate.Range(min=0, max=80))
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
    id = fields.Integer()
    kind = fields.String()
    status = fields.String()
    reason = fields.String(allow_none=True)
    content_type = fields.String()
    size_bytes = fields.Integer()
    original_filename = fields.String()
    created_at = fields.AwareDateTime()
    decided_at = fields.AwareDateTime(allow_none=True)
    download_url = fields.Function(document_download_url, metadata={"description": "Signed URL, expires"})


class DocumentTutorSchema(Schema):
    id = fields.Integer()
    full_name = fields.String()
    email = fields.String()


class AdminDocumentSchema(DocumentSchema):
    tutor = fields.Nested(DocumentTutorSchema)
    decided_by_id = fields.Integer(allow_none=True)


class DocumentUploadFormSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(DOCUMENT_KINDS))


class DocumentUploadFileSchema(Schema):
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


def _parse_near(value):
    parts = value.split(",")
    if len(parts) != 2:
        raise ValidationError("Use near=<lat>,<lon>, e.g. near=48.8566,2.3522.")
    try:
        lat, lon = float(parts[0]), float(parts[1])
    except ValueError:
        raise ValidationError("near must be two numbers: <lat>,<lon>.") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValidationError("Latitude must be within ±90 and longitude within ±180.")
    return lat, lon


class TutorSearchSchema(Schema):
    subject = fields.String(validate=validate.Length(max=60), metadata={"description": "Subject slug (GET /subjects)"})
    level = fields.String(validate=validate.OneOf(LEVELS))
    min_rate = fields.Integer(validate=validate.Range(min=0), metadata={"description": "Hourly rate, minor units"})
    max_rate = fields.Integer(validate=validate.Range(min=0), metadata={"description": "Hourly rate, minor units"})
    currency = fields.String(validate=validate_currency, metadata={"description": "Only tutors charging in it"})
    min_rating = fields.Float(validate=validate.Range(min=0, max=5))
    mode = fields.String(validate=validate.OneOf(MODES), metadata={
        "description": "online: tutors offering online lessons (online or both); in_person likewise; both: tutors offering both"})
    near = fields.String(metadata={"description": "<lat>,<lon>; keeps in-person/both tutors within radius_km"})
    lat = fields.Float(validate=validate.Range(min=-90, max=90), metadata={"description": "Alternative to near, with lon"})
    lon = fields.Float(validate=validate.Range(min=-180, max=180))
    radius_km = fields.Float(validate=validate.Range(min=0.1, max=MAX_NEAR_RADIUS_KM),
                             metadata={"description": "Great-circle radius around near (default 25, max 500)"})
    language = fields.String(validate=_language)
    teaching_style = fields.String(validate=validate.OneOf(LEARNING_STYLES))
    verified_only = fields.Boolean(load_default=False)
    available_start = fields.AwareDateTime(metadata={"description": (
        "With available_end: tutors free for the whole window. Validated now; applied once the scheduling "
        "domain registers its availability filter (until then it does not narrow the results).")})
    available_end = fields.AwareDateTime()
    q = fields.String(validate=validate.Length(min=1, max=200), metadata={
        "description": "Free text over name, headline and bio (PostgreSQL full-text search)"})
    sort = fields.String(load_default="relevance", validate=validate.OneOf(SORTS), metadata={
        "description": "relevance (text rank, then rating), rating, price (cheapest first), distance (needs near)"})

    @validates_schema
    def _coherent(self, data, **_kwargs):
        if "near" in data:
            try:
                _parse_near(data["near"])
            except ValidationError as error:
                raise ValidationError(error.messages, "near") from None
        elif ("lat" in data) != ("lon" in data):
            raise ValidationError("Give both lat and lon (or near=<lat>,<lon>).", "lat" if "lat" in data else "lon")
        has_point = "near" in data or "lat" in data
        if "radius_km" in data and not has_point:
            raise ValidationError("radius_km needs near=<lat>,<lon>.", "radius_km")
        if data.get("sort") == "distance" and not has_point:
            raise ValidationError("Sorting by distance needs near=<lat>,<lon>.", "sort")
        if "min_rate" in data and "max_rate" in data and data["min_rate"] > data["max_rate"]:
            raise ValidationError("min_rate is greater than max_rate.", "min_rate")
        start, end = data.get("available_start"), data.get("available_end")
        if (start is None) != (end is None):
            raise ValidationError("Give both available_start and available_end.", "available_start")
        if start is not None and end <= start:
            raise ValidationError("available_end must be after available_start.", "available_end")

    @post_load
    def _point(self, data, **_kwargs):
        if "near" in data:
            data["near"] = _parse_near(data["near"])
        elif "lat" in data:
            data["near"] = (data.pop("lat"), data.pop("lon"))
        if "near" in data:
            data.setdefault("radius_km", DEFAULT_NEAR_RADIUS_KM)
        data.pop("lat", None)
        data.pop("lon", None)
        return data
