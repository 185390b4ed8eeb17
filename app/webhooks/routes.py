from flask.views import MethodView
from flask_jwt_extended import current_user

from app.common.api import Blueprint
from app.common.auth import auth_required
from app.common.pagination import MAX_PAGE_SIZE, paginate
from app.common.transactions import unit_of_work
from app.webhooks import services
from app.webhooks.schemas import (
    DeliveryQuerySchema,
    DeliverySchema,
    WebhookCreateSchema,
    WebhookSchema,
    WebhookUpdateSchema,
    WebhookWithSecretSchema,
)

DESCRIPTION = """Outgoing webhooks for integrators.

Each delivery is `POST <url>` with a JSON body `{"id", "type", "created_at", "data"}` (`id` is the event's stable
id, the same on every retry: use it to drop duplicates) and the headers `Tutorhub-Event-Id`,
`Tutorhub-Event-Type`, `Tutorhub-Delivery-Attempt` and `Tutorhub-Signature: t=<unix seconds>,v1=<hex>`.

**Verifying**: `v1` is HMAC-SHA256, keyed with the webhook's secret, over `f"{t}.{raw_body}"`. Recompute it over
the raw request body (before any JSON parsing), compare in constant time (`hmac.compare_digest`) and refuse a `t`
more than 5 minutes old. Answer 2xx quickly; anything else (redirects included, they are not followed) or no
answer within the timeouts is retried with exponential backoff, then the delivery fails; many failed deliveries in
a row disable the webhook.

Who may register: any user with a confirmed email, for events where they are a party (the booking's student or
tutor, the review's author or subject, the payment's payer or payee); admins may choose scope `all`. The owner is
checked again before every delivery. URLs must resolve to public addresses (checked again before each delivery)."""

blp = Blueprint("webhooks", __name__, url_prefix="/api/v1", description=DESCRIPTION)

CREATE_EXAMPLE = {"url": "https://hooks.example.com/tutorhub", "events": ["booking.confirmed", "booking.cancelled"],
                  "description": "Sync to our CRM"}


def _with_secret(webhook, secret):
    """The webhook as WebhookWithSecretSchema dumps it: its fields and the one-time secret."""
    fields = {name: getattr(webhook, name) for name in WebhookSchema().fields}
    return {**fields, "secret": secret}


@blp.route("/webhooks")
class Webhooks(MethodView):
    @auth_required()
    @blp.doc(summary="My webhooks", description="Oldest first, paginated; secrets are never listed.")
    @blp.response(200, WebhookSchema(many=True))
    @blp.paginate(max_page_size=MAX_PAGE_SIZE)
    def get(self, pagination_parameters):
        return paginate(services.webhooks_query(current_user), pagination_parameters)

    @auth_required()
    @blp.doc(summary="Register a webhook", description="The response carries the signing secret; it is shown "
             "only here (rotate it to get a new one).")
    @blp.arguments(WebhookCreateSchema, examples={"example": {"value": CREATE_EXAMPLE}})
    @blp.response(201, WebhookWithSecretSchema)
    @blp.alt_response(403, description="Email not confirmed, or scope all without the admin role")
    @blp.alt_response(409, description="WEBHOOKS_MAX_PER_USER reached")
    @blp.alt_response(422, description="Bad URL (not http(s), private/loopback/reserved address, does not "
                      "resolve), unknown event type")
    @unit_of_work()
    def post(self, data):
        return _with_secret(*services.create_webhook(current_user, data))


@blp.route("/webhooks/<int:webhook_id>")
class WebhookItem(MethodView):
    @auth_required()
    @blp.doc(summary="One of my webhooks", description="Another user's webhook is 404.")
    @blp.response(200, WebhookSchema)
    def get(self, webhook_id):
        return services.get_webhook(current_user, webhook_id)

    @auth_required()
    @blp.doc(summary="Change a webhook", description="Only the fields sent change; a new URL is checked like at "
             "registration; `active: true` turns a disabled webhook back on.")
    @blp.arguments(WebhookUpdateSchema, examples={"example": {"value": {"events": ["booking.confirmed"]}}})
    @blp.response(200, WebhookSchema)
    @blp.alt_response(403, description="Scope all without the admin role")
    @blp.alt_response(422, description="Bad URL or unknown event type")
    @unit_of_work()
    def patch(self, changes, webhook_id):
        return services.update_webhook(current_user, webhook_id, changes)

    @auth_required()
    @blp.doc(summary="Delete a webhook", description="Its deliveries and their log go with it.")
    @blp.response(204)
    @unit_of_work()
    def delete(self, webhook_id):
        services.delete_webhook(current_user, webhook_id)


@blp.route("/webhooks/<int:webhook_id>/rotate-secret", methods=["POST"])
@auth_required()
@blp.doc(summary="Rotate a webhook's signing secret", description="Returns the new secret, shown only here; "
         "deliveries from now on are signed with it (the old one stops at once).")
@blp.response(200, WebhookWithSecretSchema)
@unit_of_work()
def rotate_webhook_secret(webhook_id):
    return _with_secret(*services.rotate_secret(current_user, webhook_id))


@blp.route("/webhooks/<int:webhook_id>/ping", methods=["POST"])
@auth_required()
@blp.doc(summary="Send a test event", description="Queues a `webhook.ping` delivery (`data: {webhook_id}`), "
         "signed and logged like any other.")
@blp.response(202, DeliverySchema)
@blp.alt_response(409, description="The webhook is disabled")
@unit_of_work()
def ping_webhook(webhook_id):
    return services.ping(current_user, webhook_id)


@blp.route("/webhooks/<int:webhook_id>/deliveries")
@auth_required()
@blp.doc(summary="A webhook's delivery log", description="Newest first, paginated: event, status, attempts (each "
         "with response code, duration and error) and the next retry time; `status` filters.")
@blp.arguments(DeliveryQuerySchema, location="query")
@blp.response(200, DeliverySchema(many=True))
@blp.paginate(max_page_size=MAX_PAGE_SIZE)
def list_webhook_deliveries(query, webhook_id, pagination_parameters):
    return paginate(services.deliveries_query(current_user, webhook_id, query.get("status")), pagination_parameters)
