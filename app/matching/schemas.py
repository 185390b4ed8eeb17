from datetime import timedelta

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from app.common.inputs import Integer
from app.common.money import validate_currency
from app.tutors.models import LEVELS, MODES
from app.tutors.schemas import TutorCardSchema
from app.users.models import LEARNING_STYLES

MAX_NEAR_RADIUS_KM = 500
DEFAULT_NEAR_RADIUS_KM = 25
SORTS = ("relevance", "rating", "price", "distance")
LANGUAGE_CODE = validate.Regexp(r"^[a-z]{2,3}$", error="Use an ISO 639 code such as 'en' or 'ja'.")

PRICE_PARAMETERS = ("min_rate", "max_rate")
MAX_WINDOW = timedelta(days=92)  # as GET /tutors/{id}/slots
MIN_SESSION_MINUTES, MAX_SESSION_MINUTES = 15, 240  # the session lengths a tutor may offer
MAX_RATE_CENTS = 10_000_000  # the bound of a tutor's rate_cents (app/tutors/schemas.py)


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
    max_rate_cents = Integer(required=True, strict=True, min=1, max=MAX_RATE_CENTS)
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
    limit = Integer(load_default=10, validate=validate.Range(min=1, max=50))


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
    score = fields.Float(metadata={"description": "Weighted mean of the parts, in [0, 1], plus the boost"})
    parts = fields.Nested(MatchPartsSchema)
    boost = fields.Float(metadata={"description": "Cold-start exploration boost in the score (new tutors; decays "
                                                  "with the tutor's impressions)"})
    contributions = fields.Nested(MatchPartsSchema, metadata={
        "description": "Each part's share of the score: its weight (of the arm that ranked) times its value, over "
                       "the weights' sum; with the boost they add up to the score"})
    reasons = fields.List(fields.String(), metadata={"description": "Why, strongest first"})


class MatchResultSchema(Schema):
    matches = fields.List(fields.Nested(MatchSchema))
    weights = fields.Dict(keys=fields.String(), values=fields.Float())
    candidates_considered = Integer()
    request_id = fields.String(metadata={"description": "Echo it in POST /matches/{request_id}/events"})
    arm = fields.String(metadata={"description": "fixed or learned (a stable hash of the student)"})
    model_version = Integer(allow_none=True, metadata={
        "description": "The learned model that ranked (null: the fixed weights ranked)"})
    explore = fields.Boolean(metadata={"description": "Shown in a random order (exploration)"})


class MatchEventSchema(Schema):
    tutor_id = Integer(required=True, strict=True, min=1, max=2 ** 31 - 1)
    kind = fields.String(required=True, validate=validate.OneOf(("viewed", "clicked")))


class MatchEventResultSchema(Schema):
    request_id = fields.String()
    tutor_id = Integer()
    kind = fields.String()
    at = fields.AwareDateTime()


class ArmWindowSchema(Schema):
    since = fields.AwareDateTime(data_key="from", required=True)
    until = fields.AwareDateTime(data_key="to", required=True)


class ArmMetricsSchema(Schema):
    arm = fields.String()
    requests = Integer()
    impressions = Integer()
    rates = fields.Dict(keys=fields.String(), values=fields.Float(), metadata={
        "description": "Outcomes per impression: viewed, clicked, messaged, booked, completed, repeat, rated"})
    mean_rating = fields.Float(allow_none=True)


class ArmReportSchema(Schema):
    learned_share = fields.Float()
    model_version = Integer(allow_none=True)
    arms = fields.List(fields.Nested(ArmMetricsSchema))


def _check_window(data):
    start, end = data.get("available_start"), data.get("available_end")
    if (start is None) != (end is None):
        raise ValidationError("Give both available_start and available_end.", "available_start")
    if start is None and "duration" in data:
        raise ValidationError("duration needs available_start and available_end.", "duration")
    if start is not None and end <= start:
        raise ValidationError("available_end must be after available_start.", "available_end")
    if start is not None and end - start > MAX_WINDOW:
        raise ValidationError("The window is limited to 92 days.", "available_end")


def _check_prices(data):
    priced = [name for name in PRICE_PARAMETERS if name in data] + (["sort"] if data.get("sort") == "price" else [])
    if priced and "currency" not in data:
        raise ValidationError(
            f"{', '.join(priced)}: give currency=<ISO 4217 code>. Rates are minor units of each tutor's own "
            "currency (JPY 4000 is not USD 40.00) and none are converted, so prices are compared within one "
            "currency.", "currency")


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
    min_rate = Integer(min=0, max=MAX_RATE_CENTS, metadata={
        "description": "Hourly rate, minor units of `currency` (required with it)"})
    max_rate = Integer(min=0, max=MAX_RATE_CENTS, metadata={
        "description": "Hourly rate, minor units of `currency` (required with it)"})
    currency = fields.String(validate=validate_currency, metadata={
        "description": "Only tutors charging in it; required by min_rate, max_rate and sort=price"})
    min_rating = fields.Float(validate=validate.Range(min=0, max=5))
    mode = fields.String(validate=validate.OneOf(MODES), metadata={
        "description": "online: tutors offering online lessons (online or both); in_person likewise; both: tutors offering both"})
    near = fields.String(metadata={"description": "<lat>,<lon>; keeps in-person/both tutors within radius_km"})
    lat = fields.Float(validate=validate.Range(min=-90, max=90), metadata={"description": "Alternative to near, with lon"})
    lon = fields.Float(validate=validate.Range(min=-180, max=180))
    radius_km = fields.Float(validate=validate.Range(min=0.1, max=MAX_NEAR_RADIUS_KM),
                             metadata={"description": "Great-circle radius around near (default 25, max 500)"})
    language = fields.String(validate=LANGUAGE_CODE)
    teaching_style = fields.String(validate=validate.OneOf(LEARNING_STYLES))
    verified_only = fields.Boolean(load_default=False)
    available_start = fields.AwareDateTime(metadata={"description": (
        "With available_end (at most 92 days later): tutors with at least one bookable slot starting in the window, "
        "exactly the slots GET /tutors/{id}/slots lists for it (weekly hours, date overrides, notice, horizon, "
        "bookings with buffers, busy time and out-of-office, limits).")})
    available_end = fields.AwareDateTime()
    duration = Integer(validate=validate.Range(min=MIN_SESSION_MINUTES, max=MAX_SESSION_MINUTES), metadata={
        "description": "With the window: the session length (minutes) the slot must fit; tutors not offering it "
                       "are left out. Default: each tutor's shortest session."})
    q = fields.String(validate=validate.Length(min=1, max=200), metadata={
        "description": "Free text over name, headline and bio (PostgreSQL full-text search)"})
    sort = fields.String(load_default="relevance", validate=validate.OneOf(SORTS), metadata={
        "description": "relevance (text rank, then rating), rating, price (cheapest first; needs currency), distance (needs near)"})

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
        _check_prices(data)
        if "min_rate" in data and "max_rate" in data and data["min_rate"] > data["max_rate"]:
            raise ValidationError("min_rate is greater than max_rate.", "min_rate")
        _check_window(data)

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
