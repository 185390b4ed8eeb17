"""Portal page "Analytics": the four admin reports (app.analytics.services.report) as charts and totals (the match
funnel also per A/B arm), with period, grouping and subject filters and CSV/XLSX downloads of the same rows as the
API."""
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
    "matching": (("shown", "Tutors shown"), ("match_requested", "Requested after a match"),
                 ("match_completed", "Completed after a match"), ("shown_to_requested_rate", "Shown → requested"),
                 ("requested", "All requests"), ("completed", "All completed"),
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
    columns = ["shown", "match_requested", "match_completed", "requested", "confirmed", "completed"]
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
            "Tutors shown": matching["shown"].tolist(), "Requested after a match": matching["match_requested"].tolist(),
            "Completed after a match": matching["match_completed"].tolist()},
            lines={"All booking requests": matching["requested"].tolist()},
            title=f"Match funnel per {group}: shown → requested → completed", ylabel="tutors / bookings"),
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


def _rate(numerator, denominator):
    return round(numerator / denominator, 4) if denominator else 0.0


def _arm_rows(report):
    """The match funnel per A/B arm over the window (the subjects shown added up), with its two rates."""
    rows = []
    for arm in analytics.ARMS:
        shown, requested, completed = (int(report.totals[f"{figure}_{arm}"].sum())
                                       for figure in ("shown", "match_requested", "match_completed"))
        rows.append({"arm": arm, "shown": shown, "match_requested": requested, "match_completed": completed,
                     "shown_to_requested_rate": _rate(requested, shown),
                     "match_requested_to_completed_rate": _rate(completed, requested)})
    return rows


def _totals(report):
    if report.name == "matching":
        summed = report.totals[["shown", "match_requested", "match_completed", "requested", "confirmed",
                                "completed", "first_bookings", "first_booking_seconds"]].sum()
        requested, firsts, shown = summed["requested"], summed["first_bookings"], summed["shown"]
        return {**{name: int(summed[name]) for name in ("shown", "match_requested", "match_completed", "requested",
                                                        "confirmed", "completed")},
                "shown_to_requested_rate": _rate(summed["match_requested"], shown),
                "request_to_completed_rate": _rate(summed["completed"], requested),
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
        download=download, matching_rows=reports["matching"].as_dict()["totals"],
        arm_rows=_arm_rows(reports["matching"]))


@bp.route("/analytics/<name>.<extension>")
def analytics_download(name, extension):
    if name not in analytics.REPORTS or extension not in MIMETYPES:
        abort(404)
    reports, _filters_used = _reports(request.args, names=(name,))
    report = reports[name]
    body = report.to_csv() if extension == "csv" else report.to_xlsx()
    return Response(body, mimetype=MIMETYPES[extension],
                    headers={"Content-Disposition": f'attachment; filename="{report.filename(extension)}"'})
