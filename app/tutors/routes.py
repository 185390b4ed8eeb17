from flask.views import MethodView
from flask_jwt_extended import current_user

from app.common.api import Blueprint
from app.common.auth import auth_required
from app.common.pagination import MAX_PAGE_SIZE, paginate
from app.common.transactions import unit_of_work
from app.tutors import services
from app.tutors.schemas import (
    AdminDocumentSchema,
    DocumentDecisionSchema,
    DocumentQuerySchema,
    DocumentSchema,
    DocumentUploadSchema,
    MyTutorProfileSchema,
    PublicTutorSchema,
    SubjectSchema,
    TutorProfileInSchema,
)

blp = Blueprint("tutors", __name__, url_prefix="/api/v1", description="Tutor profiles, subjects and documents")

PROFILE_EXAMPLE = {
    "headline": "Calculus and statistics, exam-focused", "bio": "PhD in applied mathematics.",
    "rate_cents": 4500, "currency": "EUR", "subjects": [{"subject": "mathematics", "level": "university"}],
    "languages": ["en", "es"], "teaching_styles": ["visual"], "mode": "both", "city": "Madrid", "country": "ES",
    "latitude": 40.4168, "longitude": -3.7038, "travel_radius_km": 10, "years_experience": 10, "offers_trial": True,
}


@blp.route("/tutors/me")
class MyTutorProfile(MethodView):
    @auth_required("tutor")
    @blp.doc(summary="My tutor profile", description="404 until the profile is created with PUT.")
    @blp.response(200, MyTutorProfileSchema)
    def get(self):
        return services.my_profile(current_user)

    @auth_required("tutor")
    @blp.doc(summary="Create or replace my tutor profile",
             description="The whole profile; subjects are slugs with a level. In-person or both needs a location.")
    @blp.arguments(TutorProfileInSchema, examples={"example": {"value": PROFILE_EXAMPLE}})
    @blp.response(200, MyTutorProfileSchema)
    @unit_of_work()
    def put(self, data):
        return services.save_profile(current_user, data)


@blp.route("/tutors/<int:tutor_id>")
@blp.doc(summary="A tutor's public profile",
         description="Public: profile, verification status and rating summary; exact coordinates are not shown.")
@blp.response(200, PublicTutorSchema)
def get_tutor(tutor_id):
    return services.public_profile(tutor_id)


@blp.route("/subjects")
@blp.doc(summary="Subject catalog", description="Every subject with its slug (used by profiles and search).")
@blp.response(200, SubjectSchema(many=True))
def list_subjects():
    return services.list_subjects()


@blp.route("/tutors/me/documents")
class MyDocuments(MethodView):
    @auth_required("tutor")
    @blp.doc(operationId="listMyDocuments")
    @blp.doc(summary="My credential documents", description="With their review status and signed download URLs.")
    @blp.response(200, DocumentSchema(many=True))
    def get(self):
        return services.my_documents(current_user)

    @auth_required("tutor")
    @blp.doc(operationId="uploadMyDocument")
    @blp.doc(summary="Upload a credential document", description=(
        "Multipart: `kind` (id_card, certificate, diploma, cv) and `file` (PDF, PNG or JPEG recognised from "
        "its bytes, at most 10 MB). It waits for an admin's review."))
    @blp.arguments(DocumentUploadSchema, location="multipart")
    @blp.response(201, DocumentSchema)
    @blp.alt_response(413, description="File larger than 10 MB")
    @blp.alt_response(415, description="Not a PDF, PNG or JPEG")
    @unit_of_work()
    def post(self, upload):
        return services.upload_document(current_user, upload["kind"], upload["file"])


@blp.route("/tutors/me/documents/<int:document_id>")
class MyDocument(MethodView):
    @auth_required("tutor")
    @blp.doc(summary="One of my documents", description="Metadata and a signed, expiring download URL.")
    @blp.response(200, DocumentSchema)
    def get(self, document_id):
        return services.my_document(current_user, document_id)

    @auth_required("tutor")
    @blp.doc(summary="Withdraw a pending document", description="Only while pending; decided documents answer 409.")
    @blp.response(204)
    @blp.alt_response(409, description="Already approved or rejected")
    @unit_of_work()
    def delete(self, document_id):
        services.delete_my_document(current_user, document_id)


@blp.route("/admin/tutor-documents")
@auth_required("admin")
@blp.doc(summary="Verification queue (admin)", description="Documents by status (default pending, `all` for every one), oldest first.")
@blp.arguments(DocumentQuerySchema, location="query")
@blp.response(200, AdminDocumentSchema(many=True))
@blp.paginate(max_page_size=MAX_PAGE_SIZE)
def admin_list_documents(query, pagination_parameters):
    status = None if query["status"] == "all" else query["status"]
    return paginate(services.review_query(status), pagination_parameters)


@blp.route("/admin/tutor-documents/<int:document_id>", methods=["PATCH"])
@auth_required("admin")
@blp.doc(summary="Approve or reject a document (admin)", description=(
    "Decides a pending document (409 otherwise), recomputes the tutor's verified flag and emails the tutor."))
@blp.arguments(DocumentDecisionSchema, examples={
    "approve": {"value": {"decision": "approve"}},
    "reject": {"value": {"decision": "reject", "reason": "The scan is unreadable."}}})
@blp.response(200, AdminDocumentSchema)
@unit_of_work()
def admin_decide_document(decision, document_id):
    if decision["decision"] == "approve":
        return services.approve_document(current_user, document_id)
    return services.reject_document(current_user, document_id, decision["reason"])
