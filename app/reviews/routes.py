"""Review endpoints: thin views over the reviews services, each write in one unit of work."""
from flask_jwt_extended import current_user

from app.common.api import Blueprint
from app.common.auth import auth_required
from app.common.pagination import MAX_PAGE_SIZE, paginate
from app.common.transactions import unit_of_work
from app.reviews import services
from app.reviews.schemas import (
    AdminQueueQuerySchema,
    AdminReviewSchema,
    FlagInSchema,
    InsightsSchema,
    ModerationEventSchema,
    ModerationInSchema,
    MyReviewSchema,
    RatingDropQuerySchema,
    RatingDropSchema,
    RatingSummarySchema,
    ReplyInSchema,
    ReviewInSchema,
    ReviewListQuerySchema,
    ReviewSchema,
    StudentRatingSchema,
)

blp = Blueprint("reviews", __name__, url_prefix="/api/v1", description="Session reviews, ratings and moderation")

STUDENT_EXAMPLE = {"clarity": 5, "knowledge": 4, "responsiveness": 5, "punctuality": 4, "overall": 5,
                   "would_recommend": True, "comment": "Patient and clear."}


@blp.route("/sessions/<int:booking_id>/reviews", methods=["POST"])
@auth_required()
@blp.doc(summary="Review a completed session",
         description="By the student (clarity, knowledge, responsiveness, punctuality, overall 1–5, "
                     "would_recommend, comment ≤ 2,000 chars) or the tutor (preparedness, engagement, punctuality, "
                     "private_note). Once per session and author, within 30 days of the session. Double-blind: the "
                     "other side sees it once both reviewed or the window closed.")
@blp.arguments(ReviewInSchema, examples={"student": {"value": STUDENT_EXAMPLE}, "tutor": {"value": {
    "preparedness": 4, "engagement": 5, "punctuality": 5, "private_note": "Bring past papers next time."}}})
@blp.response(201, MyReviewSchema)
@blp.alt_response(409, description="Session not completed, already reviewed, or window closed")
@unit_of_work()
def create_review(data, booking_id):
    return services.create_review(current_user, booking_id, data)


@blp.route("/sessions/<int:booking_id>/reviews", methods=["GET"])
@auth_required()
@blp.doc(summary="Reviews of a session",
         description="For its participants and admins: your own review, and the other side's once released.")
@blp.response(200, ReviewSchema(many=True))
def session_reviews(booking_id):
    return services.session_reviews(current_user, booking_id)


@blp.route("/reviews/<int:review_id>", methods=["PATCH"])
@auth_required()
@blp.doc(summary="Edit my review", description="Within 7 days of writing it; only the fields sent change.")
@blp.arguments(ReviewInSchema, examples={"example": {"value": {"overall": 4, "comment": "Good, a bit fast."}}})
@blp.response(200, MyReviewSchema)
@unit_of_work()
def edit_review(changes, review_id):
    return services.edit_review(current_user, review_id, changes)


@blp.route("/reviews/<int:review_id>/reply", methods=["POST"])
@auth_required("tutor")
@blp.doc(operationId="replyToReview")
@blp.doc(summary="Reply to a review of me", description="One public reply per released student review.")
@blp.arguments(ReplyInSchema, examples={"example": {"value": {"reply": "Thanks, see you next week!"}}})
@blp.response(201, ReviewSchema)
@unit_of_work()
def reply(data, review_id):
    return services.reply(current_user, review_id, data["reply"])


@blp.route("/reviews/<int:review_id>/flags", methods=["POST"])
@auth_required()
@blp.doc(operationId="flagReview")
@blp.doc(summary="Flag a review", description="Sends it to the moderation queue; once per user, not your own.")
@blp.arguments(FlagInSchema, examples={"example": {"value": {"reason": "Insulting language"}}})
@blp.response(201, ReviewSchema)
@unit_of_work()
def flag(data, review_id):
    return services.flag(current_user, review_id, data["reason"])


@blp.route("/reviews/<int:review_id>/helpful", methods=["POST"])
@auth_required()
@blp.doc(operationId="markReviewHelpful")
@blp.doc(summary="Mark a review helpful", description="Once per user; not your own review.")
@blp.response(201, ReviewSchema)
@unit_of_work()
def helpful(review_id):
    return services.mark_helpful(current_user, review_id)


@blp.route("/students/<int:student_id>/ratings")
@auth_required("tutor", "admin")
@blp.doc(summary="Ratings tutors gave a student",
         description="For admins and tutors the student has booked (any booking not rejected or expired). "
         "`private_note` is shown to the tutor who wrote it and to admins; null for other tutors.")
@blp.response(200, StudentRatingSchema(many=True))
@blp.paginate(max_page_size=MAX_PAGE_SIZE)
def student_ratings(student_id, pagination_parameters):
    return paginate(services.student_ratings_query(current_user, student_id), pagination_parameters)


@blp.route("/tutors/<int:tutor_id>/reviews")
@blp.doc(summary="A tutor's reviews (public)", description="Released, visible student reviews; newest or most "
                                                          "helpful first.")
@blp.arguments(ReviewListQuerySchema, location="query")
@blp.response(200, ReviewSchema(many=True))
@blp.paginate(max_page_size=MAX_PAGE_SIZE)
def tutor_reviews(query, tutor_id, pagination_parameters):
    return paginate(services.public_reviews_query(tutor_id, query["sort"]), pagination_parameters)


@blp.route("/tutors/<int:tutor_id>/rating-summary")
@blp.doc(summary="A tutor's rating summary (public)",
         description="Count, averages per dimension, Bayesian average (C·m + Σoverall)/(C + n), distribution of "
                     "overall, recommend rate and monthly trend, from the incremental aggregates.")
@blp.response(200, RatingSummarySchema)
def rating_summary(tutor_id):
    return services.tutor_summary(tutor_id)


@blp.route("/tutors/me/feedback-insights")
@auth_required("tutor")
@blp.doc(summary="My feedback insights", description="Weakest dimension vs. the platform median, 90-day trend, "
                                                     "suggestions.")
@blp.response(200, InsightsSchema)
def my_insights():
    return services.feedback_insights(current_user.id)


@blp.route("/admin/tutors/<int:tutor_id>/feedback-insights")
@auth_required("admin")
@blp.doc(summary="A tutor's feedback insights (admin)",
         description="The same insights the tutor sees, for any tutor.")
@blp.response(200, InsightsSchema)
def admin_insights(tutor_id):
    return services.feedback_insights(tutor_id)


@blp.route("/admin/rating-drops")
@auth_required("admin")
@blp.doc(summary="Tutors whose rating fell (admin)",
         description="Average overall over the last `days` vs. the `days` before, fallen by at least `threshold`.")
@blp.arguments(RatingDropQuerySchema, location="query")
@blp.response(200, RatingDropSchema(many=True))
def rating_drops(query):
    return services.rating_drops(query["threshold"], query["days"])


@blp.route("/admin/reviews")
@auth_required("admin")
@blp.doc(summary="Moderation queue (admin)", description="status=queued (flagged or blocklisted, undecided), "
                                                         "visible, hidden or removed.")
@blp.arguments(AdminQueueQuerySchema, location="query")
@blp.response(200, AdminReviewSchema(many=True))
@blp.paginate(max_page_size=MAX_PAGE_SIZE)
def admin_queue(query, pagination_parameters):
    return paginate(services.queue_query(query["status"]), pagination_parameters)


@blp.route("/admin/reviews/<int:review_id>", methods=["PATCH"])
@auth_required("admin")
@blp.doc(summary="Hide, restore, remove or approve a review (admin)",
         description="Recorded in the audit trail. hide / restore / remove: the aggregates follow and the author is "
                     "emailed. approve: a wrongly flagged visible review leaves the queue, its flags are dismissed, "
                     "it stays visible and nobody is emailed (409 when it is not queued or flagged).")
@blp.arguments(ModerationInSchema, examples={"example": {"value": {"action": "hide", "reason": "Insults"}}})
@blp.response(200, AdminReviewSchema)
@unit_of_work()
def admin_moderate(data, review_id):
    return services.moderate(current_user, review_id, data["action"], data["reason"])


@blp.route("/admin/reviews/<int:review_id>/events")
@auth_required("admin")
@blp.doc(summary="Moderation audit trail of a review (admin)",
         description="Every hide, restore, remove and approve: admin, action, reason and time, oldest first.")
@blp.response(200, ModerationEventSchema(many=True))
def admin_events(review_id):
    return services.moderation_events(review_id)
