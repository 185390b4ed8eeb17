"""Earnings and finance reports: a tutor's earnings and the platform's finance summary, as JSON or CSV."""
from flask import Response, request
from flask_jwt_extended import current_user

from app.common.api import Blueprint
from app.common.auth import auth_required
from app.payments import services
from app.payments.report_schemas import EarningsSchema, FinanceSummarySchema, ReportQuerySchema, SummaryQuerySchema

blp = Blueprint("finance", __name__, url_prefix="/api/v1",
                description="Earnings and finance reports over the ledger, per period and currency (JSON or CSV)")

CSV = "text/csv"
WINDOW = ("Periods are days, ISO weeks or calendar months in `tz` (default UTC), clipped to `[from, to)`; every "
          "period of the window is listed for each currency with money. Amounts are integer minor units. Totals "
          "are the per-currency sums of the period rows. Ask for CSV (the period rows, same columns) with "
          "`Accept: text/csv` or `?format=csv`. 422: a naive timestamp, `to` not after `from`, a window longer "
          "than FINANCE_REPORT_MAX_DAYS (366), an unknown group or time zone.")
EARNINGS_DESCRIPTION = (
    "My sessions' money, counted when their escrow is settled (completed sessions after the dispute window, "
    "cancellations, refusals): `gross_minor` what students paid for them before commission (= net + commission), "
    "`commission_minor` the platform's share, `refunds_minor` what went back to the students (not in gross), "
    "`net_minor` what reached my payable balance, `sessions` the settlements that paid me anything. " + WINDOW)
SUMMARY_DESCRIPTION = (
    "The platform's money from the ledger: `gmv_minor` sessions booked and paid (held in escrow), "
    "`revenue_minor` commission, `refunds_minor` session refunds to wallets, `tutor_earnings_minor` paid to "
    "tutors' payable balances, `deposits_minor` PayPal deposits, `deposit_refunds_minor` wallet money sent back "
    "to PayPal, `payouts_minor` tutor payouts, `payout_returns_minor` failed payouts returned, "
    "`escrow_held_minor` the escrow balance at each period's end (its total: at `to`). " + WINDOW)
EARNINGS_EXAMPLE = {
    "from": "2026-03-01T00:00:00+00:00", "to": "2026-03-03T00:00:00+00:00", "group": "day", "tz": "UTC",
    "periods": [
        {"period_start": "2026-03-01T00:00:00+00:00", "period_end": "2026-03-02T00:00:00+00:00", "currency": "USD",
         "gross_minor": 4500, "commission_minor": 675, "refunds_minor": 1500, "net_minor": 3825, "sessions": 2},
        {"period_start": "2026-03-02T00:00:00+00:00", "period_end": "2026-03-03T00:00:00+00:00", "currency": "USD",
         "gross_minor": 0, "commission_minor": 0, "refunds_minor": 0, "net_minor": 0, "sessions": 0}],
    "totals": [{"currency": "USD", "gross_minor": 4500, "commission_minor": 675, "refunds_minor": 1500,
                "net_minor": 3825, "sessions": 2}],
}
EARNINGS_CSV_EXAMPLE = (
    "period_start,period_end,currency,gross_minor,commission_minor,refunds_minor,net_minor,sessions\n"
    "2026-03-01T00:00:00+00:00,2026-03-02T00:00:00+00:00,USD,4500,675,1500,3825,2\n")
SUMMARY_EXAMPLE = {
    "from": "2026-03-01T00:00:00+00:00", "to": "2026-03-02T00:00:00+00:00", "group": "day", "tz": "UTC",
    "periods": [
        {"period_start": "2026-03-01T00:00:00+00:00", "period_end": "2026-03-02T00:00:00+00:00", "currency": "USD",
         "gmv_minor": 9000, "revenue_minor": 675, "refunds_minor": 1500, "tutor_earnings_minor": 3825,
         "deposits_minor": 20000, "deposit_refunds_minor": 0, "payouts_minor": 1000, "payout_returns_minor": 0,
         "escrow_held_minor": 3000}],
    "totals": [{"currency": "USD", "gmv_minor": 9000, "revenue_minor": 675, "refunds_minor": 1500,
                "tutor_earnings_minor": 3825, "deposits_minor": 20000, "deposit_refunds_minor": 0,
                "payouts_minor": 1000, "payout_returns_minor": 0, "escrow_held_minor": 3000}],
}
SUMMARY_CSV_EXAMPLE = (
    "period_start,period_end,currency,gmv_minor,revenue_minor,refunds_minor,tutor_earnings_minor,deposits_minor,"
    "deposit_refunds_minor,payouts_minor,payout_returns_minor,escrow_held_minor\n"
    "2026-03-01T00:00:00+00:00,2026-03-02T00:00:00+00:00,USD,9000,675,1500,3825,20000,0,1000,0,3000\n")


def _csv_alternative(example):
    """The 200 response's second content type, merged into the JSON one flask-smorest documents."""
    return {200: {"content": {CSV: {"schema": {"type": "string"}, "example": example}}}}


def _respond(report, query, name):
    """The report as JSON (the view's schema) or, when asked for, as a CSV download."""
    wants_csv = query.get("format") == "csv" or (
        "format" not in query and request.accept_mimetypes.best_match(["application/json", CSV]) == CSV)
    if not wants_csv:
        return report.as_dict()
    return Response(report.to_csv(), mimetype=CSV,
                    headers={"Content-Disposition": f'attachment; filename="{report.filename(name)}"'})


def _window(query):
    return {key: query[key] for key in ("since", "until", "group", "tz", "currency") if key in query}


@blp.route("/tutors/me/earnings")
@auth_required("tutor")
@blp.doc(summary="My earnings", description=EARNINGS_DESCRIPTION, responses=_csv_alternative(EARNINGS_CSV_EXAMPLE))
@blp.arguments(ReportQuerySchema, location="query")
@blp.response(200, EarningsSchema, example=EARNINGS_EXAMPLE)
@blp.alt_response(422, description="Naive timestamp, `to` not after `from`, window too long, bad group or tz")
def my_earnings(query):
    return _respond(services.tutor_earnings(current_user.id, **_window(query)), query, "earnings")


@blp.route("/admin/finance/summary")
@auth_required("admin")
@blp.doc(summary="Finance summary (admin)", description=SUMMARY_DESCRIPTION,
         responses=_csv_alternative(SUMMARY_CSV_EXAMPLE))
@blp.arguments(SummaryQuerySchema, location="query")
@blp.response(200, FinanceSummarySchema, example=SUMMARY_EXAMPLE)
@blp.alt_response(422, description="Naive timestamp, `to` not after `from`, window too long, bad group, tz or "
                                   "currency")
def admin_finance_summary(query):
    return _respond(services.finance_summary(**_window(query)), query, "finance-summary")
