"""Admin analytics inputs (window, grouping, subject, format) and the report shape."""
from marshmallow import Schema, fields, validate

from app.analytics.services import GROUPS

FORMATS = ("json", "csv", "xlsx")


class ReportQuerySchema(Schema):
    since = fields.AwareDateTime(data_key="from", metadata={
        "description": "Start (ISO 8601 with offset; naive is 422), taken to its UTC day. Default: `to` minus 30 "
                       "days."})
    until = fields.AwareDateTime(data_key="to", metadata={
        "description": "End, exclusive (ISO 8601 with offset), taken to the end of the UTC day holding the instant "
                       "before it. Default: now. At most ANALYTICS_MAX_DAYS (366) after `from`."})
    group = fields.String(load_default="day", validate=validate.OneOf(GROUPS), metadata={
        "description": "Period length: day, week (ISO, Monday to Sunday) or month, in UTC."})
    subject = fields.String(validate=validate.Length(1, 64), metadata={
        "description": "Only bookings (and their reviews) of this subject slug; platform-wide figures (signups, "
                       "active users, chat, money) are not split by subject."})
    format = fields.String(load_default="json", validate=validate.OneOf(FORMATS), metadata={
        "description": "json, csv (the period rows) or xlsx (sheets `periods` and `totals`)."})


class AnalyticsReportSchema(Schema):
    report = fields.String(metadata={"description": "engagement, matching, marketplace or quality"})
    since = fields.AwareDateTime(data_key="from", metadata={"description": "First UTC day covered (midnight)"})
    until = fields.AwareDateTime(data_key="to", metadata={"description": "Midnight after the last day covered"})
    group = fields.String()
    subject = fields.String(allow_none=True)
    columns = fields.List(fields.String(), metadata={"description": "The period rows' columns, in order"})
    periods = fields.List(fields.Dict(), metadata={
        "description": "One row per period (and per subject in matching): period_start, period_end, figures"})
    totals = fields.List(fields.Dict(), metadata={
        "description": "The window's totals (per subject in matching): sums of the period rows; rates recomputed"})
