"""Portal page "Reviews": the moderation queue with hide / restore / remove / approve forms, over the reviews services."""
from flask import flash, g, redirect, render_template, request, url_for

from admin_portal import bp
from admin_portal.session import page_number
from app.common.errors import Conflict, NotFound
from app.common.transactions import unit_of_work
from app.extensions import db
from app.reviews import services as reviews
from app.reviews.models import MODERATION_ACTIONS

REVIEWS_PER_PAGE = 25
REASON_MIN_LENGTH = 3
REASON_MAX_LENGTH = 500


@bp.route("/reviews")
def review_queue():
    status = request.args.get("status", "queued")
    status = status if status in reviews.QUEUE_FILTERS else "queued"
    page = page_number(request.args)
    pagination = db.paginate(reviews.queue_query(status), page=page, per_page=REVIEWS_PER_PAGE,
                             error_out=False)
    return render_template("admin_portal/reviews.html", pagination=pagination, status=status,
                           statuses=reviews.QUEUE_FILTERS, reason_max_length=REASON_MAX_LENGTH)


@bp.route("/reviews/<int:review_id>/<action>", methods=["POST"])
def moderate_review(review_id, action):
    back = redirect(url_for("admin_portal.review_queue", status=request.form.get("status") or None), 303)
    if action not in MODERATION_ACTIONS:
        flash("Unknown action.", "error")
        return back
    reason = request.form.get("reason", "").strip()
    if not REASON_MIN_LENGTH <= len(reason) <= REASON_MAX_LENGTH:
        flash(f"A reason of {REASON_MIN_LENGTH} to {REASON_MAX_LENGTH} characters is required.", "error")
        return back
    try:
        with unit_of_work():
            review = reviews.moderate(g.admin, review_id, action, reason)
    except (Conflict, NotFound) as error:
        flash(error.message, "error")
    else:
        done = "approved: flags dismissed, still visible" if action == "approve" else f"now {review.status}"
        flash(f"Review #{review.id} by {review.author.full_name} is {done}.", "success")
    return back
