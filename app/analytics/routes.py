"""Admin analytics: engagement, matching, marketplace and quality reports, as JSON, CSV or XLSX."""
from flask import Response

from app.analytics import services
from app.analytics.schemas import AnalyticsReportSchema, ReportQuerySchema
from app.common.api import Blueprint
from app.common.auth import auth_required

blp = Blueprint("analytics", __name__, url_prefix="/api/v1/admin/analytics",
                description="Platform analytics for admins, from the nightly rollups (today live)")

CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
WINDOW = (" Whole UTC days: the rolled-up days read the nightly rollups, today (and any day not rolled up yet) is "
          "computed live. Counts add up: the totals are the sums of the period rows (a CSV or XLSX read back and "
          "summed gives them); rates and averages are recomputed from those sums. `?format=csv` gives the period "
          "rows as CSV, `?format=xlsx` a workbook with sheets `periods` and `totals`. 422: a naive timestamp, `to` "
          "not after `from`, a window longer than ANALYTICS_MAX_DAYS (366), an unknown group or format.")
DESCRIPTIONS = {
    "engagement": "Signups, active users (from the activity log: sign-ins, token refreshes, messages, booking "
                  "changes): `active_user_days` (sum of daily actives), `avg_daily_active_users`, "
                  "`weekly_active_users` (distinct users over the 7 days ending the period's last day), `logins`, "
                  "`chat_messages` and `chat_sender_days`.",
    "matching": "Per subject, the match funnel from matching's log: `shown` (tutors shown in match responses) → "
                "`match_requested` (bookings requested of a tutor shown, as matching attributes them) → "
                "`match_completed` (their sessions completed), with `shown_to_requested_rate` and "
                "`match_requested_to_completed_rate`; the same funnel per A/B arm that served the match response "
                "(`shown_fixed`, `match_requested_fixed`, `match_completed_fixed`, `shown_learned`, … adding up to "
                "the figures above, with `shown_to_requested_rate_fixed`, `match_requested_to_completed_rate_fixed`, "
                "`…_learned`; the learned arm's share is set on the portal's Matching page, and "
                "`GET /admin/matching/arms` compares the arms per impression); the funnel of every booking: "
                "`requested` → `confirmed` → "
                "`completed` with their rates; and `first_bookings` with `avg_hours_to_first_booking` from signup. "
                "Each figure counts on the day it happened (a response, a request, a completion), so a period's "
                "rates compare flows, not one cohort.",
    "marketplace": "Requests `accepted`, `rejected`, `expired` with `acceptance_rate` and `avg_response_minutes`; "
                   "sessions `completed`, `cancelled`, `no_shows` with their rates; and per currency GMV "
                   "(`gmv_<cur>_minor`) and revenue (`revenue_<cur>_minor`, commission) from payments' ledger, in "
                   "integer minor units (not split by subject).",
    "quality": "Students' reviews (`reviews`), their overall ratings' distribution (`rating_1` … `rating_5`), "
               "`average_rating`, and tutors' reviews of students (`tutor_reviews`).",
}
EXAMPLE = {
    "report": "quality", "from": "2026-03-01T00:00:00+00:00", "to": "2026-03-02T00:00:00+00:00", "group": "day",
    "subject": None,
    "columns": ["period_start", "period_end", "reviews", "tutor_reviews", "rating_1", "rating_2", "rating_3",
                "rating_4", "rating_5", "average_rating"],
    "periods": [{"period_start": "2026-03-01T00:00:00+00:00", "period_end": "2026-03-02T00:00:00+00:00",
                 "reviews": 3, "tutor_reviews": 1, "rating_1": 0, "rating_2": 0, "rating_3": 1, "rating_4": 1,
                 "rating_5": 1, "average_rating": 4.0}],
    "totals": [{"reviews": 3, "tutor_reviews": 1, "rating_1": 0, "rating_2": 0, "rating_3": 1, "rating_4": 1,
                "rating_5": 1, "average_rating": 4.0}],
}
ALTERNATIVES = {200: {"content": {CSV: {"schema": {"type": "string"}},
                                  XLSX: {"schema": {"type": "string", "format": "binary"}}}}}


def _respond(name, query):
    window = {key: query[key] for key in ("since", "until", "group", "subject") if key in query}
    report = services.report(name, **window)
    if query["format"] == "json":
        return report.as_dict()
    body, mimetype = (report.to_csv(), CSV) if query["format"] == "csv" else (report.to_xlsx(), XLSX)
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{report.filename(query["format"])}"'})


def _documented(name, summary):
    def decorate(view):
        view = blp.alt_response(422, description="Naive timestamp, `to` not after `from`, window too long, bad "
                                                 "group or format")(view)
        view = blp.alt_response(403, description="Not an admin")(view)
        view = blp.response(200, AnalyticsReportSchema, example=EXAMPLE)(view)
        view = blp.arguments(ReportQuerySchema, location="query")(view)
        view = blp.doc(operationId=f"adminAnalytics{name.title()}", summary=summary,
                       description=DESCRIPTIONS[name] + WINDOW, responses=ALTERNATIVES)(view)
        view = auth_required("admin")(view)
        return blp.route(f"/{name}")(view)
    return decorate


@_documented("engagement", "Engagement report (admin)")
def engagement(query):
    return _respond("engagement", query)


@_documented("matching", "Match success report (admin)")
def matching(query):
    return _respond("matching", query)


@_documented("marketplace", "Marketplace report (admin)")
def marketplace(query):
    return _respond("marketplace", query)


@_documented("quality", "Quality report (admin)")
def quality(query):
    return _respond("quality", query)
