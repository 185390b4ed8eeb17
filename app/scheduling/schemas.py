import re

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.common.inputs import Id, Integer
from app.common.money import validate_currency
from app.common.time import validate_timezone
from app.scheduling.models import STATES

SUBJECT_SLUG = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
WALL_TIME = re.compile(r"^(\d{2}):(\d{2})$")


class WallTime(fields.Field):
    """Local wall-clock time "HH:MM" (00:00–24:00) stored as minutes after midnight."""

    default_error_messages = {"invalid": "Use HH:MM between 00:00 and 24:00."}  # noqa: RUF012  (marshmallow merges this class attribute)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return f"{value // 60:02d}:{value % 60:02d}"

    def _deserialize(self, value, attr, data, **kwargs):
        match = WALL_TIME.match(value) if isinstance(value, str) else None
        if not match:
            raise self.make_error("invalid")
        hours, minutes = int(match.group(1)), int(match.group(2))
        if minutes > 59 or hours > 24 or (hours == 24 and minutes):
            raise self.make_error("invalid")
        return hours * 60 + minutes


class RuleSchema(Schema):
    weekday = Integer(required=True, validate=validate.Range(0, 6),
                             metadata={"description": "0 = Monday … 6 = Sunday"})
    start = WallTime(required=True, attribute="start_minute", metadata={"example": "09:00"})
    end = WallTime(required=True, attribute="end_minute", metadata={"example": "17:00"})

    @validates_schema
    def _ordered(self, data, **_kwargs):
        if data["start_minute"] >= data["end_minute"]:
            raise ValidationError("end must be after start.", "end")


class OverrideSchema(Schema):
    date = fields.Date(required=True)
    start = WallTime(attribute="start_minute", allow_none=True, load_default=None,
                     metadata={"description": "Omit start and end for a day off."})
    end = WallTime(attribute="end_minute", allow_none=True, load_default=None)

    @validates_schema
    def _ordered(self, data, **_kwargs):
        start, end = data.get("start_minute"), data.get("end_minute")
        if (start is None) != (end is None):
            raise ValidationError("Give both start and end, or neither for a day off.", "end")
        if start is not None and start >= end:
            raise ValidationError("end must be after start.", "end")


class SettingsSchema(Schema):
    timezone = fields.String(allow_none=True, validate=validate_timezone,
                             metadata={"description": "IANA zone; null means the profile's time zone."})
    session_lengths = fields.List(Integer(validate=validate.Range(15, 240)),
                                  validate=validate.Length(1, 6))
    slot_interval_minutes = Integer(validate=validate.OneOf((5, 10, 15, 20, 30, 60)))
    buffer_before_minutes = Integer(validate=validate.Range(0, 120))
    buffer_after_minutes = Integer(validate=validate.Range(0, 120))
    min_notice_minutes = Integer(validate=validate.Range(0, 60 * 24 * 14))
    max_days_ahead = Integer(validate=validate.Range(1, 365))
    daily_limit = Integer(allow_none=True, validate=validate.Range(1, 48))
    weekly_limit = Integer(allow_none=True, validate=validate.Range(1, 200))
    instant_booking = fields.Boolean()
    cancellation_window_hours = Integer(validate=validate.Range(0, 24 * 14))
    late_cancellation_refund_percent = Integer(validate=validate.Range(0, 100))

    @validates_schema
    def _distinct_lengths(self, data, **_kwargs):
        lengths = data.get("session_lengths")
        if lengths is not None and len(set(lengths)) != len(lengths):
            raise ValidationError("Session lengths must be distinct.", "session_lengths")


class AvailabilitySchema(Schema):
    tutor_id = Integer(dump_only=True)
    timezone = fields.String(dump_only=True, metadata={"description": "The zone the rules are read in."})
    rules = fields.List(fields.Nested(RuleSchema), required=True, validate=validate.Length(max=70),
                        metadata={"description": "Replaces every weekly rule; `[]` clears the week."})
    overrides = fields.List(fields.Nested(OverrideSchema), validate=validate.Length(max=400),
                            metadata={"description": "Replaces every date override; `[]` clears them; omitted: "
                                                     "the overrides stay as they are."})
    settings = fields.Nested(SettingsSchema, load_default=dict,
                             metadata={"description": "Optional; only the fields sent change."})


class SlotQuerySchema(Schema):
    start = fields.AwareDateTime(required=True)
    end = fields.AwareDateTime(required=True)
    duration = Integer(validate=validate.Range(15, 240), metadata={
        "description": "Session length in minutes, one the tutor offers (422 otherwise); default: their shortest"})


class SlotSchema(Schema):
    start = fields.AwareDateTime()
    end = fields.AwareDateTime()


class SlotList(fields.List):
    """A list of SlotSchema items (documented as such), written without a nested schema per slot.

    A 90-day answer holds about a thousand slots; marshmallow's per-item nested dump cost several times the
    slot computation itself. The output is the same as ``SlotSchema(many=True)``: AwareDateTime's default
    format is ``datetime.isoformat()``."""

    def __init__(self, **kwargs):
        super().__init__(fields.Nested(SlotSchema), **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return [{"start": slot["start"].isoformat(), "end": slot["end"].isoformat()} for slot in value]


class SlotListSchema(Schema):
    tutor_id = Integer()
    timezone = fields.String()
    duration = Integer()
    slots = SlotList()


class BookingCreateSchema(Schema):
    tutor_id = Id(required=True)
    start = fields.AwareDateTime(required=True, metadata={"description": "ISO 8601 with offset"})
    duration = Integer(required=True, validate=validate.Range(15, 240))
    subject = fields.String(required=True, validate=[
        validate.Length(2, 64), validate.Regexp(SUBJECT_SLUG, error="Use a slug like 'calculus' or 'jlpt-n3'."),
    ])
    note = fields.String(load_default="", validate=validate.Length(max=2000))
    currency = fields.String(validate=validate_currency, metadata={
        "description": "Optional ISO 4217 code the client expects to pay in; must be the tutor's (else 422)"})
    use_credit = Id(metadata={"description": "Pay with a credit of this package purchase (`GET /me/packages`) "
                                             "instead of the wallet: same tutor, same session length (422 "
                                             "otherwise), 409 when none is left"})


class BookingQuerySchema(Schema):
    state = fields.String(validate=validate.OneOf(STATES))
    start_from = fields.AwareDateTime(metadata={"description": "Sessions starting at or after"})
    start_to = fields.AwareDateTime(metadata={"description": "Sessions starting before"})
    role = fields.String(validate=validate.OneOf(("tutor", "student")))


class BookingParticipantSchema(Schema):
    id = Integer()
    full_name = fields.String()
    timezone = fields.String()


class BookingSchema(Schema):
    id = Integer()
    tutor_id = Integer()
    student_id = Integer()
    tutor = fields.Nested(BookingParticipantSchema)
    student = fields.Nested(BookingParticipantSchema)
    subject = fields.String()
    note = fields.String()
    state = fields.String()
    start = fields.AwareDateTime(attribute="start_at")
    end = fields.AwareDateTime(attribute="end_at")
    duration = Integer(attribute="duration_minutes")
    sequence = Integer()
    is_repeat = fields.Boolean()
    price_minor = Integer(allow_none=True, metadata={"description": "Fixed when requested (minor units)"})
    currency = fields.String(allow_none=True)
    confirmed_at = fields.AwareDateTime(allow_none=True)
    started_at = fields.AwareDateTime(allow_none=True)
    completed_at = fields.AwareDateTime(allow_none=True)
    cancelled_at = fields.AwareDateTime(allow_none=True)
    cancelled_by_id = Integer(allow_none=True)
    cancel_reason = fields.String(allow_none=True)
    cancellation_policy = fields.Dict(allow_none=True)
    proposed_start = fields.AwareDateTime(attribute="proposed_start_at", allow_none=True)
    proposed_end = fields.AwareDateTime(attribute="proposed_end_at", allow_none=True)
    proposed_by_id = Integer(allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class AdminBookingSchema(BookingSchema):
    admin_note = fields.String(allow_none=True)


class CancelSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(1, 500))


class RejectSchema(Schema):
    reason = fields.String(validate=validate.Length(1, 500))


class RescheduleSchema(Schema):
    start = fields.AwareDateTime(required=True)


class AdminStateSchema(Schema):
    state = fields.String(required=True, validate=validate.OneOf(STATES))
    note = fields.String(required=True, validate=validate.Length(1, 400))
    no_show_by = fields.String(load_default="student", validate=validate.OneOf(("student", "tutor")), metadata={
        "description": "With state no_show: who did not show (tutor: the student is refunded in full)"})


class BusyQuerySchema(Schema):
    start = fields.AwareDateTime(metadata={"description": "Blocks ending after this instant"})
    end = fields.AwareDateTime(metadata={"description": "Blocks starting before this instant"})


class BusyCreateSchema(Schema):
    start = fields.AwareDateTime(required=True)
    end = fields.AwareDateTime(required=True, metadata={"description": "After start, in the future, ≤ 31 days"})
    note = fields.String(validate=validate.Length(max=500), load_default=None, allow_none=True,
                         metadata={"description": "For yourself (not shown to students)"})


class OutOfOfficeCreateSchema(Schema):
    start = fields.AwareDateTime(required=True)
    end = fields.AwareDateTime(required=True, metadata={"description": "After start, in the future, ≤ 366 days"})
    note = fields.String(validate=validate.Length(max=500), load_default=None, allow_none=True,
                         metadata={"description": "Told to the students of the sessions in the period"})
    colleague_id = Id(load_default=None, allow_none=True, metadata={"description": "Another active tutor to suggest to them"})


class BusyBlockSchema(Schema):
    id = Integer()
    start = fields.AwareDateTime(attribute="start_at")
    end = fields.AwareDateTime(attribute="end_at")
    source = fields.String(metadata={"description": "manual, out_of_office, or the calendar it was synced from"})
    note = fields.String(allow_none=True)
    colleague_id = Integer(allow_none=True)
    created_at = fields.AwareDateTime()


class OutOfOfficeSchema(BusyBlockSchema):
    told_booking_ids = fields.List(Integer(), metadata={
        "description": "Requests and confirmed sessions in the period whose students are told (in-app and email)"})
