from flask_jwt_extended import current_user

from app.common.api import Blueprint
from app.common.auth import auth_required
from app.common.pagination import MAX_PAGE_SIZE, paginate
from app.common.transactions import unit_of_work
from app.notifications import services
from app.notifications.schemas import (
    NotificationQuerySchema,
    NotificationSchema,
    ReadAllResultSchema,
)

blp = Blueprint("notifications", __name__, url_prefix="/api/v1", description="In-app notifications")


@blp.route("/notifications")
@auth_required()
@blp.doc(summary="My notifications", description="Newest first, paginated; `unread=true` lists only unread ones.")
@blp.arguments(NotificationQuerySchema, location="query")
@blp.response(200, NotificationSchema(many=True))
@blp.paginate(max_page_size=MAX_PAGE_SIZE)
def list_notifications(query, pagination_parameters):
    rows = paginate(services.notifications_query(current_user.id, query.get("unread")), pagination_parameters)
    return [services.notification_dict(n) for n in rows]


@blp.route("/notifications/<int:notification_id>/read", methods=["POST"])
@auth_required()
@blp.doc(operationId="markNotificationRead")
@blp.doc(summary="Mark a notification read", description="Idempotent; another user's notification is 404.")
@blp.response(200, NotificationSchema)
@unit_of_work()
def mark_read(notification_id):
    return services.notification_dict(services.mark_notification_read(current_user.id, notification_id))


@blp.route("/notifications/read-all", methods=["POST"])
@auth_required()
@blp.doc(summary="Mark all my notifications read", description="Returns how many were unread.")
@blp.response(200, ReadAllResultSchema)
@unit_of_work()
def mark_all_read():
    return {"updated": services.mark_all_notifications_read(current_user.id)}
