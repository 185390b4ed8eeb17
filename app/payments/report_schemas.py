"""Earnings and finance report inputs (window, grouping, time zone, format) and outputs (period rows, totals)."""
from marshmallow import Schema, fields, validate

from app.common.inputs import Integer
from app.common.money import validate_currency
from app.common.time import validate_timezone
from app.payments.reports import GROUPS

FORMATS = ("json", "csv")


class ReportQuerySchema(Schema):
    since = fields.AwareDateTime(data_key="from", metadata={
        "description": "Start, inclusive (ISO 8601 with offset; naive is 422). Default: `to` minus "
                       "FINANCE_REPORT_DEFAULT_DAYS (90)."})
    until = fields.AwareDateTime(data_key="to", metadata={
        "description": "End, exclusive (ISO 8601 with offset). Default: now. At most FINANCE_REPORT_MAX_DAYS "
                       "(366) after `from`."})
    group = fields.String(load_default="day", validate=validate.OneOf(tuple(GROUPS)), metadata={
        "description": "Period length: day, week (ISO, Monday to Sunday) or month."})
    tz = fields.String(load_default="UTC", validate=[validate.Length(1, 64), validate_timezone], metadata={
        "description": "IANA time zone the periods are cut in (default UTC)."})
    format = fields.String(validate=validate.OneOf(FORMATS), metadata={
        "description": "csv: the period rows as text/csv (same as `Accept: text/csv`)."})


class SummaryQuerySchema(ReportQuerySchema):
    currency = fields.String(validate=validate_currency, metadata={"description": "Only this ISO 4217 currency"})


def _money(description):
    return Integer(min=None, max=None, metadata={"description": f"{description} (integer minor units)"})


EARNINGS_FIELDS = {
    "gross_minor": _money("Paid for my sessions before commission: net + commission"),
    "commission_minor": _money("The platform's commission on them"),
    "refunds_minor": _money("Returned to students from my sessions (not in gross)"),
    "net_minor": _money("Credited to my payable balance: gross - commission"),
    "sessions": Integer(metadata={"description": "Sessions settled that paid me (gross > 0)"}),
}

SUMMARY_FIELDS = {
    "gmv_minor": _money("Value of sessions booked and paid: student wallets to escrow"),
    "revenue_minor": _money("Platform commission: settlements to platform_revenue"),
    "refunds_minor": _money("Session refunds: settlements back to student wallets"),
    "tutor_earnings_minor": _money("Settlements to tutors' payable balances"),
    "deposits_minor": _money("PayPal deposits into wallets (and demo seed funding)"),
    "deposit_refunds_minor": _money("Wallet money returned to PayPal (refunds, chargebacks)"),
    "payouts_minor": _money("Tutor payouts sent to PayPal"),
    "payout_returns_minor": _money("Failed payouts returned to tutors"),
    "escrow_held_minor": _money("Escrow balance at the period's end (total: at `to`)"),
}


def _row_schemas(name, figures):
    period = Schema.from_dict({
        "period_start": fields.AwareDateTime(metadata={"description": "Inclusive, in the report's time zone"}),
        "period_end": fields.AwareDateTime(metadata={"description": "Exclusive (clipped to `to`)"}),
        "currency": fields.String(metadata={"description": "ISO 4217"}),
        **figures,
    }, name=f"{name}Period")
    total = Schema.from_dict({"currency": fields.String(metadata={"description": "ISO 4217"}), **figures},
                             name=f"{name}Total")
    return period, total


def _report_schema(name, figures):
    period, total = _row_schemas(name, figures)
    return Schema.from_dict({
        "from": fields.AwareDateTime(),
        "to": fields.AwareDateTime(),
        "group": fields.String(),
        "tz": fields.String(),
        "periods": fields.List(fields.Nested(period), metadata={"description": "Every period of the window for "
                                                                              "each currency with money"}),
        "totals": fields.List(fields.Nested(total), metadata={"description": "Per currency, over the window"}),
    }, name=name)


EarningsSchema = _report_schema("Earnings", EARNINGS_FIELDS)
FinanceSummarySchema = _report_schema("FinanceSummary", SUMMARY_FIELDS)
