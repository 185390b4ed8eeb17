"""Progress input and output shapes: goals, session notes, the student dashboard and the tutor impact."""
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from app.common.inputs import Integer
from app.progress.models import LEVELS, MAX_HOURS, MAX_MARK, MIN_HOURS, MIN_MARK

NOTE_MAX = 500
TEXT_MAX = 2000
SUBJECT = validate.Length(1, 64)


class GoalInSchema(Schema):
    """A goal needs a target level or target hours (or both) and a target date after today."""

    subject = fields.String(required=True, validate=SUBJECT, metadata={"description": "Subject slug"})
    target_level = fields.String(allow_none=True, validate=validate.OneOf(LEVELS),
                                 metadata={"description": f"One of {', '.join(LEVELS)}"})
    target_hours = Integer(allow_none=True, strict=True, validate=validate.Range(MIN_HOURS, MAX_HOURS),
                           metadata={"description": f"Hours of sessions, {MIN_HOURS}–{MAX_HOURS}"})
    target_date = fields.Date(required=True, metadata={"description": "After today (UTC) when the goal is created"})
    note = fields.String(allow_none=True, validate=validate.Length(max=NOTE_MAX))

    @validates_schema
    def _has_target(self, data, **_kwargs):
        if data.get("target_level") is None and data.get("target_hours") is None:
            raise ValidationError("A goal needs a target level or target hours.", field_name="target_hours")


class GoalPatchSchema(Schema):
    """Any of a goal's fields; the goal keeps a target level or target hours (checked with its stored values)."""

    subject = fields.String(validate=SUBJECT, metadata={"description": "Subject slug"})
    target_level = GoalInSchema._declared_fields["target_level"]
    target_hours = GoalInSchema._declared_fields["target_hours"]
    target_date = fields.Date()
    note = GoalInSchema._declared_fields["note"]


class GoalSchema(Schema):
    id = Integer()
    subject = fields.String()
    target_level = fields.String(allow_none=True)
    target_hours = Integer(allow_none=True)
    target_date = fields.Date()
    note = fields.String()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class NoteInSchema(Schema):
    topics = fields.String(required=True, validate=validate.Length(1, TEXT_MAX),
                           metadata={"description": "Topics covered"})
    homework = fields.String(allow_none=True, validate=validate.Length(max=TEXT_MAX))
    progress_mark = Integer(required=True, strict=True, validate=validate.Range(MIN_MARK, MAX_MARK),
                            metadata={"description": f"{MIN_MARK} (struggling) to {MAX_MARK} (mastered)"})


class NotePatchSchema(Schema):
    topics = fields.String(validate=validate.Length(1, TEXT_MAX))
    homework = NoteInSchema._declared_fields["homework"]
    progress_mark = Integer(strict=True, validate=validate.Range(MIN_MARK, MAX_MARK))


class NoteSchema(Schema):
    booking_id = Integer()
    tutor_id = Integer()
    student_id = Integer()
    subject = fields.String()
    session_at = fields.AwareDateTime(metadata={"description": "The session's start"})
    topics = fields.String()
    homework = fields.String()
    progress_mark = Integer()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class WindowQuerySchema(Schema):
    since = fields.AwareDateTime(data_key="from", metadata={
        "description": "Start, inclusive (ISO 8601 with offset; naive is 422). Default: `to` minus "
                       "PROGRESS_DEFAULT_DAYS (90)."})
    until = fields.AwareDateTime(data_key="to", metadata={
        "description": "End, exclusive (ISO 8601 with offset). Default: now. At most ANALYTICS_MAX_DAYS (366) "
                       "after `from`."})


def _nested(schema, **kwargs):
    return fields.List(fields.Nested(schema), **kwargs)


# --- the student dashboard -----------------------------------------------------------------------------------

class _Totals(Schema):
    sessions = Integer()
    minutes = Integer()
    hours = fields.Float()
    subjects = Integer()


class _WeekSubject(Schema):
    week_start = fields.Date(metadata={"description": "Monday (UTC) of the ISO week"})
    subject = fields.String()
    sessions = Integer()
    minutes = Integer()
    hours = fields.Float()


class _Mark(Schema):
    booking_id = Integer()
    session_at = fields.AwareDateTime()
    subject = fields.String()
    tutor_id = Integer()
    progress_mark = Integer()


class _StudentRating(Schema):
    booking_id = Integer()
    rated_at = fields.AwareDateTime()
    preparedness = Integer(allow_none=True)
    engagement = Integer(allow_none=True)
    punctuality = Integer(allow_none=True)


class _StudentRatings(Schema):
    points = _nested(_StudentRating)
    averages = fields.Nested(Schema.from_dict({name: fields.Float(allow_none=True) for name in
                                               ("preparedness", "engagement", "punctuality")},
                                              name="StudentRatingAverages"))


class _GoalProgress(Schema):
    sessions = Integer(metadata={"description": "Completed sessions in the subject that started before "
                                                       "`to` and before the target date ended (all history)"})
    hours_done = fields.Float()
    hours_percent = fields.Float(allow_none=True, metadata={"description": "hours_done / target_hours, capped at "
                                                                           "100; null without target hours"})
    latest_marks_average = fields.Float(allow_none=True, metadata={
        "description": "Average of the latest 3 progress marks in the subject (null: no marks yet)"})
    level_percent = fields.Float(allow_none=True, metadata={
        "description": "(latest_marks_average − 1) / 4 × 100: a 5 means the target level is reached; null "
                       "without target level or marks"})


class _GoalWithProgress(GoalSchema):
    progress = fields.Nested(_GoalProgress)


class _Streaks(Schema):
    current_weeks = Integer()
    longest_weeks = Integer()


class _Upcoming(Schema):
    booking_id = Integer()
    subject = fields.String()
    tutor_id = Integer()
    tutor_name = fields.String()
    state = fields.String()
    start_at = fields.AwareDateTime()
    end_at = fields.AwareDateTime()


class _LowDimension(Schema):
    dimension = fields.String()
    average = fields.Float()


class _FallingSubject(Schema):
    subject = fields.String()
    first_mark = Integer()
    last_mark = Integer()
    marks = Integer()


class _Areas(Schema):
    lowest_rated_dimensions = _nested(_LowDimension)
    falling_subjects = _nested(_FallingSubject)


class DashboardSchema(Schema):
    since = fields.AwareDateTime(data_key="from")
    until = fields.AwareDateTime(data_key="to")
    totals = fields.Nested(_Totals, metadata={"description": "Completed sessions that started in the window"})
    sessions_by_week = _nested(_WeekSubject, metadata={"description": "Weeks with a completed session only"})
    progress_marks = _nested(_Mark, metadata={"description": "Tutors' marks on sessions in the window"})
    ratings = fields.Nested(_StudentRatings, metadata={"description": "Tutors' released ratings of me written in "
                                                                      "the window"})
    goals = _nested(_GoalWithProgress)
    streaks = fields.Nested(_Streaks)
    upcoming_sessions = _nested(_Upcoming)
    courses_in_progress = fields.List(fields.Dict(), metadata={
        "description": "Courses I am enrolled in, when the courses domain exists; [] until then"})
    areas_to_improve = fields.Nested(_Areas)


# --- the tutor impact ----------------------------------------------------------------------------------------

class _Retention(Schema):
    after_sessions = Integer()
    students = Integer(metadata={"description": "Active students with at least this many sessions"})
    returned = Integer(metadata={"description": "… of whom came back for one more"})
    rate = fields.Float(allow_none=True)


class _Outcomes(Schema):
    completed = Integer()
    no_show = Integer()
    cancelled = Integer()
    total = Integer()
    completion_rate = fields.Float(allow_none=True)
    no_show_rate = fields.Float(allow_none=True)
    cancellation_rate = fields.Float(allow_none=True)


class _WeekMarks(Schema):
    week_start = fields.Date()
    notes = Integer()
    students = Integer()
    average_mark = fields.Float()


TUTOR_DIMENSIONS = ("clarity", "knowledge", "responsiveness", "punctuality", "overall")


class _WeekRatings(Schema.from_dict({name: fields.Float(allow_none=True) for name in TUTOR_DIMENSIONS},
                                    name="WeekRatingsBase")):
    week_start = fields.Date()
    reviews = Integer()


class _TutorRatings(Schema):
    reviews = Integer()
    averages = fields.Nested(Schema.from_dict({name: fields.Float(allow_none=True) for name in TUTOR_DIMENSIONS},
                                              name="TutorRatingAverages"))
    trend = _nested(_WeekRatings)


class _RequestTimes(Schema):
    answered = Integer()
    median_minutes = fields.Float(allow_none=True)
    mean_minutes = fields.Float(allow_none=True)


class _MessageTimes(_RequestTimes):
    unanswered = Integer()


class _ResponseTimes(Schema):
    booking_requests = fields.Nested(_RequestTimes)
    messages = fields.Nested(_MessageTimes)


class _EarningsTotal(Schema):
    currency = fields.String()
    gross_minor = Integer()
    commission_minor = Integer()
    refunds_minor = Integer()
    net_minor = Integer()
    sessions = Integer()


class _Earnings(Schema):
    link = fields.String(metadata={"description": "GET /tutors/me/earnings for the same window (per day, CSV)"})
    totals = _nested(_EarningsTotal)


class ImpactSchema(Schema):
    since = fields.AwareDateTime(data_key="from")
    until = fields.AwareDateTime(data_key="to")
    active_students = Integer()
    repeat_rate = fields.Float(allow_none=True)
    retention = _nested(_Retention)
    sessions = fields.Nested(_Outcomes)
    progress_marks = _nested(_WeekMarks)
    ratings = fields.Nested(_TutorRatings)
    response_times = fields.Nested(_ResponseTimes)
    earnings = fields.Nested(_Earnings)
