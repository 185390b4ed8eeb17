from flask.views import MethodView
from flask_jwt_extended import current_user
from flask_smorest import Blueprint

from app.common.auth import auth_required
from app.matching import services
from app.matching.schemas import MatchRequestSchema, MatchResultSchema

blp = Blueprint("matching", __name__, url_prefix="/api/v1", description="Tutor matching and blocked tutors")

MATCH_EXAMPLE = {
    "subject": "mathematics", "level": "university", "mode": "both", "location": {"lat": 40.42, "lon": -3.70},
    "preferred_times": [{"start": "2026-12-01T17:00:00+01:00", "end": "2026-12-01T19:00:00+01:00"}],
    "learning_styles": ["visual"], "budget": {"max_rate_cents": 6000, "currency": "EUR"},
}


@blp.route("/matches", methods=["POST"])
@auth_required("student")
@blp.doc(summary="Match me with tutors", description=(
    "Hard filters: subject, mode (in_person needs `location`; tutors within 100 km), budget (same currency, rate "
    "≤ max) and your blocked tutors. Each result has a score in [0, 1], its parts (expertise, rating, price_fit, "
    "distance, style_fit, availability, history; 0.5 is neutral when a part cannot be judged) and reasons, "
    "strongest first. Equal inputs give equal output (ties by tutor id)."))
@blp.arguments(MatchRequestSchema, examples={"example": {"value": MATCH_EXAMPLE}})
@blp.response(200, MatchResultSchema)
def post_match(request_data):
    limit = request_data.pop("limit")
    return services.match(current_user, request_data, limit=limit)


@blp.route("/tutors/<int:tutor_id>/block")
class Block(MethodView):
    @auth_required("student")
    @blp.doc(summary="Block a tutor", description="The tutor never appears in your matches again. Idempotent.")
    @blp.response(204)
    def post(self, tutor_id):
        services.block_tutor(current_user, tutor_id)

    @auth_required("student")
    @blp.doc(summary="Unblock a tutor", description="404 when the tutor is not blocked.")
    @blp.response(204)
    def delete(self, tutor_id):
        services.unblock_tutor(current_user, tutor_id)
