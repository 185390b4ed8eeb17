from flask import current_app, request
from flask.views import MethodView
from flask_jwt_extended import get_current_user

from app.common.api import Blueprint
from app.common.auth import auth_required
from app.common.pagination import MAX_PAGE_SIZE, paginate
from app.common.transactions import unit_of_work
from app.users import services
from app.users.schemas import (
    AdminUserQuerySchema,
    AdminUserSchema,
    AdminUserUpdateSchema,
    AvatarUploadSchema,
    MeSchema,
    MeUpdateSchema,
    PublicUserSchema,
    UserAdminEventSchema,
)

blp = Blueprint("users", __name__, url_prefix="/api/v1", description="User profiles and admin user management")


@blp.route("/users/me")
class Me(MethodView):
    @auth_required(mfa_setup=True)
    @blp.doc(summary="My profile", description="The signed-in user's full profile, email included.")
    @blp.response(200, MeSchema)
    def get(self):
        return get_current_user()

    @auth_required()
    @blp.doc(summary="Edit my profile", description="Partial update: only the fields sent change.")
    @blp.arguments(MeUpdateSchema, examples={"example": {"value": {"bio": "Maths teacher", "learning_styles": ["visual"]}}})
    @blp.response(200, MeSchema)
    @unit_of_work()
    def patch(self, changes):
        return services.update_profile(get_current_user(), changes)


@blp.route("/users/me/avatar", methods=["PUT"])
@auth_required()
@blp.doc(summary="Upload my avatar", description="PNG, JPEG or WebP (recognised from the bytes), at most 2 MB.")
@blp.arguments(AvatarUploadSchema, location="files")
@blp.response(200, MeSchema)
@blp.alt_response(413, description="File larger than 2 MB")
@blp.alt_response(415, description="Not a PNG, JPEG or WebP image")
@unit_of_work()
def put_avatar(_files):
    return services.set_avatar(get_current_user(), request.files.get("file"), current_app.config["AVATAR_MAX_BYTES"])


@blp.route("/users/<int:user_id>")
@auth_required()
@blp.doc(summary="A user's public profile", description="Public fields only; never the email.")
@blp.response(200, PublicUserSchema)
def get_user(user_id):
    return services.get_user(user_id)


@blp.route("/admin/users")
@auth_required("admin")
@blp.doc(summary="List users (admin)", description="Filter by text, role and active flag; paginated.")
@blp.arguments(AdminUserQuerySchema, location="query")
@blp.response(200, AdminUserSchema(many=True))
@blp.paginate(max_page_size=MAX_PAGE_SIZE)
def admin_list_users(query, pagination_parameters):
    return paginate(services.admin_user_query(**query), pagination_parameters)


@blp.route("/admin/users/<int:user_id>", methods=["PATCH"])
@auth_required("admin")
@blp.doc(summary="Change a user's roles or active flag (admin)",
         description="Roles may include admin. Deactivating ends the user's sessions; admins cannot demote or deactivate "
                     "themselves. Each effective change writes an audit row (GET /admin/users/{id}/events).")
@blp.arguments(AdminUserUpdateSchema, examples={"example": {"value": {"roles": ["student", "admin"]}}})
@blp.response(200, AdminUserSchema)
@unit_of_work()
def admin_update_user(changes, user_id):
    return services.admin_update_user(get_current_user(), user_id, changes)


@blp.route("/admin/users/<int:user_id>/events")
@auth_required("admin")
@blp.doc(summary="Admin audit trail of a user (admin)",
         description="Every role change, deactivation and reactivation (API or portal): admin, action, detail, time.")
@blp.response(200, UserAdminEventSchema(many=True))
@blp.alt_response(404, description="No such user")
def admin_user_events(user_id):
    return services.admin_events(user_id)
