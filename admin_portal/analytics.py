"""Portal page "Analytics": the four admin reports (app.analytics.services.report) as charts and totals, with
period, grouping and subject filters and CSV/XLSX downloads of the same rows as the API."""
from datetime import timedelta

from flask import Response, abort, flash, render_template, request

from admin_portal import bp
from admin_portal.charts import chart_svg
from admin_portal.periods import day_period
from app.analytics import services as analytics
from app.common.errors import Invalid

DEFAULT_GROUP = "week"
DEFAULT_DAYS = 90
MIMETYPES = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
TOTALS = {  # (column, heading) shown under each chart
    "engagement": (("signups", "Signups"), ("avg_daily_active_users", "Avg DAU"),
                   ("weekly_active_users", "WAU (last 7 days)"), ("logins", "Sign-ins"),
                   ("chat_messages", "Chat messages")),
    "matching": (("requested", "Requested"), ("confirmed", "Confirmed"), ("completed", "Completed"),
                 ("request_to_completed_rate", "Request → completed"),
                 ("avg_hours_to_first_booking", "Hours to first booking")),
    "marketplace": (("acceptance_rate", "Acceptance rate"), ("avg_response_minutes", "Response (min)"),
                    ("cancellation_rate", "Cancellation rate"), ("no_show_rate", "No-show rate")),
    "quality": (("reviews", "Reviews"), ("average_rating", "Average rating"), ("tutor_reviews", "Tutor reviews")),
}


def _filters(args):
    """Dates (whole UTC days, ``to`` inclusive), group and subject; unreadable dates fall back with a message."""
    since, until = day_period(args, DEFAULT_DAYS)
    group = args.get("group") if args.get("group") in analytics.GROUPS else DEFAULT_GROUP
    subject = (args.get("subject") or "").strip()[:64] or None
    return {"since": since, "until": until, "group": group, "subject": subject}


def _reports(args, names=analytics.REPORTS):
    filters = _filters(args)
    try:
        return {name: analytics.report(name, **filters) for name in names}, filters
    except Invalid as error:
        flash(f"{error.message} Showing the default period.", "error")
        filters = _filters({"group": filters["group"], "subject": filters["subject"]})
        return {name: analytics.report(name, **filters) for name in names}, filters


def _labels(frame, group):
    fmt = "%Y-%m" if group == "month" else "%Y-%m-%d"
    return [start.strftime(fmt) for start in frame["period_start"]]


def _summed_over_subjects(report):
    """Matching's rows per period with the subjects added up."""
    frame = report.periods
    columns = ["requested", "confirmed", "completed"]
    return frame.groupby("period_start", as_index=False)[columns].sum()


def _charts(reports, group):
    engagement, matching = reports["engagement"].periods, _summed_over_subjects(reports["matching"])
    marketplace, quality = reports["marketplace"].periods, reports["quality"]
    money = [c for c in marketplace.columns if c.endswith("_minor")]
    charts = {
        "engagement": chart_svg(_labels(engagement, group), bars={"Signups": engagement["signups"].tolist()},
                                lines={"Avg daily active": engagement["avg_daily_active_users"].tolist(),
                                       "Weekly active": engagement["weekly_active_users"].tolist()},
                                title=f"Engagement per {group}", ylabel="users"),
        "matching": chart_svg(_labels(matching, group), bars={
            "Requested": matching["requested"].tolist(), "Confirmed": matching["confirmed"].tolist(),
            "Completed": matching["completed"].tolist()}, title=f"Booking funnel per {group}", ylabel="bookings"),
        "marketplace": chart_svg(_labels(marketplace, group), bars={
            name.replace("_minor", "").replace("_", " ").upper(): (marketplace[name] / 100).tolist()
            for name in money}, lines={
            "Acceptance %": (marketplace["acceptance_rate"] * 100).tolist(),
            "Cancellation %": (marketplace["cancellation_rate"] * 100).tolist(),
            "No-show %": (marketplace["no_show_rate"] * 100).tolist()},
            title=f"Marketplace per {group} (money in major units)", ylabel="% / amount"),
        "quality": chart_svg([f"{n}★" for n in range(1, 6)], bars={
            "Reviews": [int(quality.totals[f"rating_{n}"].sum()) for n in range(1, 6)]},
            title="Ratings distribution (students' overall rating)", ylabel="reviews"),
    }
    return charts


def _totals(report):
    if report.name == "matching":
        summed = report.totals[["requested", "confirmed", "completed", "first_bookings",
                                "first_booking_seconds"]].sum()
        requested, firsts = summed["requested"], summed["first_bookings"]
        return {"requested": int(summed["requested"]), "confirmed": int(summed["confirmed"]),
                "completed": int(summed["completed"]),
                "request_to_completed_rate": round(summed["completed"] / requested, 4) if requested else 0.0,
                "avg_hours_to_first_booking": round(summed["first_booking_seconds"] / firsts / 3600, 2)
                if firsts else 0.0}
    return report.as_dict()["totals"][0] if len(report.totals) else {}


@bp.route("/analytics")
def analytics_page():
    reports, filters = _reports(request.args)
    download = {"from": filters["since"].date().isoformat(),
                "to": (filters["until"] - timedelta(days=1)).date().isoformat(),
                "group": filters["group"], "subject": filters["subject"]}
    return render_template(
        "admin_portal/analytics.html", reports=reports, charts=_charts(reports, filters["group"]),
        totals={name: _totals(report) for name, report in reports.items()}, headings=TOTALS,
        subjects=sorted(set(reports["matching"].totals.get("subject", []))), groups=analytics.GROUPS,
        group=filters["group"], subject=filters["subject"] or "", first=download["from"], last=download["to"],
        download=download, matching_rows=reports["matching"].as_dict()["totals"])


@bp.route("/analytics/<name>.<extension>")
def analytics_download(name, extension):
    if name not in analytics.REPORTS or extension not in MIMETYPES:
        abort(404)
    reports, _filters_used = _reports(request.args, names=(name,))
    report = reports[name]
    body = report.to_csv() if extension == "csv" else report.to_xlsx()
    return Response(body, mimetype=MIMETYPES[extension],
                    headers={"Content-Disposition": f'attachment; filename="{report.filename(extension)}"'})
