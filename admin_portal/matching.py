"""Portal page "Matching": the A/B switch (the learned arm's share of students), per-arm metrics of the last
days and the newest models, over matching's services."""
from datetime import timedelta

from flask import flash, redirect, render_template, request, url_for

from admin_portal import bp
from app.common.errors import Invalid
from app.common.time import utcnow
from app.common.transactions import unit_of_work
from app.matching import services as matching

METRIC_DAYS = (7, 30, 90)


@bp.route("/matching")
def matching_arms():
    days = request.args.get("days", type=int)
    days = days if days in METRIC_DAYS else METRIC_DAYS[0]
    now = utcnow()
    report = matching.arm_report(now - timedelta(days=days), now)
    return render_template("admin_portal/matching.html", report=report, days=days, choices=METRIC_DAYS,
                           models=matching.latest_models(5))


@bp.route("/matching/share", methods=["POST"])
def set_matching_share():
    back = redirect(url_for("admin_portal.matching_arms"), 303)
    try:
        percent = int(request.form.get("learned_percent", ""))
    except ValueError:
        flash("Give a whole percentage from 0 to 100.", "error")
        return back
    try:
        with unit_of_work():
            matching.set_learned_share(percent / 100)
    except Invalid:
        flash("Give a whole percentage from 0 to 100.", "error")
    else:
        flash(f"The learned model now serves {percent}% of students.", "success")
    return back
