from flask.views import MethodView
from flask_jwt_extended import current_user

from app.common.api import Blueprint
from app.common.auth import auth_required
from app.common.pagination import MAX_PAGE_SIZE
from app.common.transactions import unit_of_work
from app.matching import services
from app.matching.schemas import (
    ArmReportSchema,
    ArmWindowSchema,
    MatchEventResultSchema,
    MatchEventSchema,
    MatchRequestSchema,
    MatchResultSchema,
    TutorCardSchema,
    TutorSearchSchema,
)

blp = Blueprint("matching", __name__, url_prefix="/api/v1", description="Tutor search, matching and blocked tutors")

MATCH_EXAMPLE = {
    "subject": "mathematics", "level": "university", "mode": "both", "location": {"lat": 40.42, "lon": -3.70},
    "preferred_times": [{"start": "2026-12-01T17:00:00+01:00", "end": "2026-12-01T19:00:00+01:00"}],
    "learning_styles": ["visual"], "budget": {"max_rate_cents": 6000, "currency": "EUR"},
}

# Counting every match of a broad search would cost more than the page itself with many tutors.
SEARCH_COUNT_CAP = 1000


# The read-only views run in a unit of work too: it ends their transaction with COMMIT rather than the teardown's
# ROLLBACK, after which psycopg would drop the prepared search and candidate statements.
@blp.route("/tutors")
@blp.doc(summary="Search tutors", description=(
    "Public. Filters combine with AND. `subject` is a slug from GET /subjects (unknown → 422 listing valid slugs); "
    "rates are minor units; `near=<lat>,<lon>` with `radius_km` (≤ 500, default 25) keeps in-person/both tutors "
    "within that great-circle distance and adds `distance_km`; `q` is full-text over name, headline and bio. "
    "`min_rate`, `max_rate` and `sort=price` need `currency` (422 without it: rates in different currencies are "
    "not comparable, and none are converted). `available_start`/`available_end` (≤ 92 days apart, optional "
    "`duration`) keep the tutors for whom GET /tutors/{id}/slots lists at least one slot starting in that window. "
    "Paginated (page_size ≤ 100). The X-Pagination `total` "
    f"is exact below {SEARCH_COUNT_CAP:,} matches; from there counting stops at {SEARCH_COUNT_CAP:,} or one past "
    f"the requested page, whichever is further, so a `total` of {SEARCH_COUNT_CAP:,} or more is a lower bound "
    f"(read it as \"{SEARCH_COUNT_CAP:,}+\") while `next_page` stays right on every page. With the availability "
    "window counting stops one past the requested page (the slots of every tutor are expanded to count them)."))
@blp.arguments(TutorSearchSchema, location="query")
@blp.response(200, TutorCardSchema(many=True))
@blp.paginate(max_page_size=MAX_PAGE_SIZE)
@unit_of_work()
def search_tutors(filters, pagination_parameters):
    cards, pagination_parameters.item_count = services.search_page(
        filters, pagination_parameters.first_item, pagination_parameters.page_size, SEARCH_COUNT_CAP)
    return cards


@blp.route("/matches", methods=["POST"])
@auth_required("student")
@blp.doc(summary="Match me with tutors", description=(
    "Hard filters: subject, mode (in_person needs `location`; tutors within 100 km), budget (same currency, rate "
    "≤ max) and your blocked tutors. Each result has a score in [0, 1], its parts (expertise, rating, price_fit, "
    "distance, style_fit, availability, history; 0.5 is neutral when a part cannot be judged) and reasons, "
    "strongest first. Equal inputs give equal output (ties by tutor id)."))
@blp.arguments(MatchRequestSchema, examples={"example": {"value": MATCH_EXAMPLE}})
@blp.response(200, MatchResultSchema)
@unit_of_work()
def post_match(request_data):
    limit = request_data.pop("limit")
    return services.match(current_user, request_data, limit=limit)


@blp.route("/matches/<string:request_id>/events", methods=["POST"])
@auth_required("student")
@blp.doc(summary="Report a view or click on a match", description=(
    "`request_id` is the one POST /matches returned; `tutor_id` one of its results; `kind` viewed or clicked. "
    "Messages, bookings, completions and ratings join by themselves. Idempotent per (request, tutor, kind). "
    "404: another student's request id, an unknown one, or a tutor not in that response."))
@blp.arguments(MatchEventSchema, examples={"example": {"value": {"tutor_id": 42, "kind": "viewed"}}})
@blp.response(201, MatchEventResultSchema)
@blp.alt_response(404, description="Request id not yours (or unknown), or tutor not in that response")
@unit_of_work()
def post_match_event(data, request_id):
    return services.record_match_event(current_user, request_id, data["tutor_id"], data["kind"])


@blp.route("/admin/matching/arms")
@auth_required("admin")
@blp.doc(summary="Matching A/B arms", description=(
    "Admins: per arm (fixed, learned) over the match requests made in [from, to): requests, impressions and the "
    "rate per impression of each outcome, the mean rating; plus the learned arm's share and the newest model. "
    "422: naive timestamps or `to` not after `from`."))
@blp.arguments(ArmWindowSchema, location="query")
@blp.response(200, ArmReportSchema)
@unit_of_work()
def get_arm_metrics(window):
    return services.arm_report(window["since"], window["until"])


@blp.route("/tutors/<int:tutor_id>/block")
class Block(MethodView):
    @auth_required("student")
    @blp.doc(operationId="blockTutor")
    @blp.doc(summary="Block a tutor", description="The tutor never appears in your matches again. Idempotent.")
    @blp.response(204)
    @unit_of_work()
    def post(self, tutor_id):
        services.block_tutor(current_user, tutor_id)

    @auth_required("student")
    @blp.doc(operationId="unblockTutor")
    @blp.doc(summary="Unblock a tutor", description="404 when the tutor is not blocked.")
    @blp.response(204)
    @unit_of_work()
    def delete(self, tutor_id):
        services.unblock_tutor(current_user, tutor_id)
