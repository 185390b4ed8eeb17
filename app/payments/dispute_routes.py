"""Dispute endpoints: a booking's student opens one (multipart, with evidence), the tutor responds, both read
theirs; admins list, read and resolve them with a split of the held money."""
from flask.views import MethodView
from flask_jwt_extended import current_user

from app.common.api import Blueprint
from app.common.auth import auth_required
from app.common.idempotency import IDEMPOTENCY_KEY_PARAMETER, current_key, idempotent
from app.common.pagination import MAX_PAGE_SIZE, paginate
from app.common.transactions import unit_of_work
from app.payments import services
from app.payments.dispute_schemas import (
    AdminPaymentDisputeSchema,
    DisputeCreateSchema,
    DisputeQuerySchema,
    DisputeResponseCreateSchema,
    DisputeResponseSchema,
    PaymentDisputeSchema,
    ResolutionSchema,
)

blp = Blueprint("disputes", __name__, url_prefix="/api/v1",
                description="Disputes of a session's payment: opened by the student, answered by the tutor, "
                            "resolved by an admin")

FILE_ERRORS = "413: an evidence file above ATTACHMENT_MAX_BYTES; 415: a file type not recognised from its bytes."


@blp.route("/bookings/<int:booking_id>/disputes", methods=["POST"])
@auth_required()
@idempotent()
@blp.doc(operationId="openBookingDispute", summary="Dispute a session's payment", parameters=[
    IDEMPOTENCY_KEY_PARAMETER], description=(
    "The booking's student, multipart/form-data: `reason` (tutor_no_show, session_cut_short, quality, "
    "technical_problems, not_as_described, other), `details` and up to DISPUTE_MAX_EVIDENCE_FILES `evidence` "
    "files. Only while the money waits for its release: within DISPUTE_WINDOW_HOURS after the session completed "
    "(or the student was marked absent). The release is frozen until an admin resolves it. 404: not my booking "
    "(or nothing paid); 409: not completed yet, already settled, window closed, or a dispute already open. "
    + FILE_ERRORS))
@blp.arguments(DisputeCreateSchema, location="multipart")
@blp.response(201, PaymentDisputeSchema)
@blp.alt_response(404, description="Not my booking, or nothing paid for it")
@blp.alt_response(409, description="Not awaiting release, window closed, or already disputed")
@blp.alt_response(413, description="Evidence file too large")
@blp.alt_response(415, description="Evidence file type not accepted")
@unit_of_work()
def open_dispute(data, booking_id):
    return services.open_dispute(current_user, booking_id, data["reason"], data["details"], data["evidence"],
                                 idempotency_key=current_key())


@blp.route("/disputes")
@auth_required()
@blp.doc(summary="My disputes", description="Disputes where I am the student or the tutor, newest first; "
         "filter by `state`.")
@blp.arguments(DisputeQuerySchema, location="query")
@blp.response(200, PaymentDisputeSchema(many=True))
@blp.paginate(max_page_size=MAX_PAGE_SIZE)
def my_disputes(query, pagination_parameters):
    return paginate(services.party_disputes_query(current_user, query["state"]), pagination_parameters)


@blp.route("/disputes/<int:dispute_id>")
@auth_required()
@blp.doc(summary="One of my disputes", description="For its student and tutor, with both sides' evidence "
         "(signed download URLs) and the tutor's responses; anyone else gets 404.")
@blp.response(200, PaymentDisputeSchema)
@blp.alt_response(404, description="No such dispute of mine")
def get_dispute(dispute_id):
    return services.dispute_for_party(current_user, dispute_id)


@blp.route("/disputes/<int:dispute_id>/responses", methods=["POST"])
@auth_required()
@blp.doc(operationId="respondToDispute", summary="Respond to a dispute", description=(
    "The tutor, multipart/form-data: `body` and up to DISPUTE_MAX_EVIDENCE_FILES `evidence` files, while the "
    "dispute is open. 403 for the student, 404 for anyone else, 409 once resolved or closed. " + FILE_ERRORS))
@blp.arguments(DisputeResponseCreateSchema, location="multipart")
@blp.response(201, DisputeResponseSchema)
@blp.alt_response(403, description="Only the tutor responds")
@blp.alt_response(404, description="No such dispute of mine")
@blp.alt_response(409, description="The dispute is resolved or closed")
@blp.alt_response(413, description="Evidence file too large")
@blp.alt_response(415, description="Evidence file type not accepted")
@unit_of_work()
def respond(data, dispute_id):
    return services.respond(current_user, dispute_id, data["body"], data["evidence"])


@blp.route("/admin/disputes")
@auth_required("admin")
@blp.doc(summary="Dispute queue (admin)", description="Every dispute, oldest first; filter by `state` (open, "
         "resolved, closed). PayPal's own disputes are listed by `GET /admin/paypal/disputes`.")
@blp.arguments(DisputeQuerySchema, location="query")
@blp.response(200, AdminPaymentDisputeSchema(many=True))
@blp.paginate(max_page_size=MAX_PAGE_SIZE)
def admin_disputes(query, pagination_parameters):
    return paginate(services.admin_disputes_query(query["state"]), pagination_parameters)


@blp.route("/admin/disputes/<int:dispute_id>")
class AdminDispute(MethodView):
    @auth_required("admin")
    @blp.doc(summary="One dispute (admin)", description="With both sides' evidence and the responses.")
    @blp.response(200, AdminPaymentDisputeSchema)
    @blp.alt_response(404, description="No such dispute")
    def get(self, dispute_id):
        return services.get_dispute(dispute_id)

    @auth_required("admin")
    @idempotent()
    @blp.doc(operationId="resolveDispute", summary="Resolve a dispute (admin)", parameters=[
        IDEMPOTENCY_KEY_PARAMETER], description=(
        "`{resolution: split, percent_to_student: 0-100, note}`: that percent of the held money goes back to the "
        "student's wallet, the rest to the tutor minus PLATFORM_COMMISSION_PERCENT, in one transaction and once: "
        "a resolved or closed dispute answers 409. Both parties are notified."))
    @blp.arguments(ResolutionSchema, examples={"half": {"value": {"resolution": "split", "percent_to_student": 50,
                                                                  "note": "Session ended 30 minutes early."}}})
    @blp.response(200, AdminPaymentDisputeSchema)
    @blp.alt_response(404, description="No such dispute")
    @blp.alt_response(409, description="Already resolved or closed")
    @unit_of_work()
    def patch(self, data, dispute_id):
        return services.resolve(current_user, dispute_id, data["percent_to_student"], data["note"])
