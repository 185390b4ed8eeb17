from flask import Response, current_app, url_for
from flask_jwt_extended import current_user

from app.calendars import services
from app.calendars.schemas import (
    AuthorizationSchema,
    CallbackQuerySchema,
    ConnectionSchema,
    FeedTokenSchema,
    GoogleNotificationHeadersSchema,
    GraphNotificationSchema,
    GraphValidationQuerySchema,
)
from app.common.api import Blueprint
from app.common.auth import auth_required
from app.common.pagination import MAX_PAGE_SIZE, paginate
from app.common.transactions import unit_of_work

blp = Blueprint("calendars", __name__, url_prefix="/api/v1",
                description="Calendar feeds (ICS) and calendar sync (Google, Outlook)")


@blp.route("/calendar/feed-token", methods=["POST"])
@auth_required()
@blp.doc(summary="Create my ICS feed URL", description="A secret URL listing my confirmed sessions; creating a "
         "new one revokes the previous one.")
@blp.response(201, FeedTokenSchema)
@unit_of_work()
def create_feed_token():
    token, row = services.issue_feed_token(current_user)
    return {"url": url_for("calendars.ics_feed", token=token, _external=True), "created_at": row.created_at}


@blp.route("/calendar/feed-token", methods=["DELETE"])
@auth_required()
@blp.doc(summary="Revoke my ICS feed URL", description="The feed URL answers 404 afterwards.")
@blp.response(204)
@unit_of_work()
def revoke_feed_token():
    services.revoke_feed_token(current_user)


@blp.route("/calendar/feed/<string:token>.ics")
@blp.doc(summary="ICS feed", description="RFC 5545 calendar: stable UID per booking, SEQUENCE bumps on change, "
         "STATUS:CANCELLED once cancelled. The token in the URL is the credential.",
         responses={"200": {"description": "text/calendar", "content": {"text/calendar": {}}}})
@blp.alt_response(404, description="Unknown or revoked token")
@unit_of_work()
def ics_feed(token):
    body = services.feed_for_token(token)
    return Response(body, status=200, mimetype="text/calendar",
                    headers={"Content-Disposition": 'inline; filename="tutorhub.ics"', "Cache-Control": "private, max-age=300"})


def _redirect_uri(provider):
    template = current_app.config.get("CALENDAR_OAUTH_REDIRECT_URL")
    if template:
        return template.replace("{provider}", provider)
    return url_for("calendars.oauth_callback", provider=provider, _external=True)


@blp.route("/calendar/connections/<string:provider>", methods=["POST"])
@auth_required()
@blp.doc(summary="Connect a calendar", description="Starts OAuth (authorization code with PKCE S256): answers the "
         "provider's authorization URL with a one-time state bound to you (valid CALENDAR_OAUTH_STATE_MINUTES). "
         "After consent the provider redirects to the callback (CALENDAR_OAUTH_REDIRECT_URL, by default "
         "`GET /calendar/oauth/{provider}/callback`), which is called with your token. Connecting again "
         "replaces the grant (the way to repair a broken connection).")
@blp.response(201, AuthorizationSchema, example={"authorization_url": "https://accounts.google.com/o/oauth2/auth?"
              "response_type=code&client_id=...&state=...&code_challenge=...&code_challenge_method=S256",
              "expires_at": "2026-12-07T10:10:00+00:00"})
@blp.alt_response(404, description="Unknown provider")
@blp.alt_response(503, description="The provider is not configured on this server (its client id and secret), or "
                  "unreachable (Outlook's identity platform answers the tenant discovery the URL is built from)")
@unit_of_work()
def start_connection(provider):
    return services.start_connection(current_user, provider, _redirect_uri(provider))


@blp.route("/calendar/oauth/<string:provider>/callback")
@auth_required()
@blp.doc(summary="Finish connecting a calendar", description="The provider's redirect (code and state), relayed "
         "with your token: the state must be one you started for this provider, unused and unexpired; the code "
         "is exchanged with the PKCE verifier and the grant stored encrypted. Busy time is pulled and push "
         "notifications set up right after.")
@blp.arguments(CallbackQuerySchema, location="query")
@blp.response(200, ConnectionSchema)
@blp.alt_response(404, description="Unknown provider")
@blp.alt_response(422, description="Wrong, used or expired state (`errors.state`), consent refused "
                  "(`errors.error`), or a code the provider refused (`errors.code`)")
@blp.alt_response(503, description="The provider is not configured on this server")
@unit_of_work()
def oauth_callback(query, provider):
    return services.complete_connection(current_user, provider, query["state"], query.get("code"),
                                        query.get("error"))


@blp.route("/calendar/connections")
@auth_required()
@blp.doc(summary="My connected calendars", description="Status `active` or `broken` (with the reason: reconnect "
         "to repair), last pull, next channel renewal, whether changes arrive by push or by polling.")
@blp.response(200, ConnectionSchema(many=True))
@blp.paginate(max_page_size=MAX_PAGE_SIZE)
def list_connections(pagination_parameters):
    return paginate(services.list_connections(current_user), pagination_parameters)


@blp.route("/calendar/connections/<int:connection_id>", methods=["DELETE"])
@auth_required()
@blp.doc(summary="Disconnect a calendar", description="Forgets the connection and the busy time read from it at "
         "once; a background job then stops its push channel and deletes the events Tutorhub added to that "
         "calendar for sessions not over yet, with the grant it had (past sessions stay as the user's record; "
         "nobody is notified). If access was already revoked (or the connection is broken), those events stay "
         "and must be removed by hand. Another user's connection is 404.")
@blp.response(204)
@blp.alt_response(405, description="The id is not an integer: the path is then a provider's, which only takes POST")
@unit_of_work()
def delete_connection(connection_id):
    services.delete_connection(current_user, connection_id)


@blp.route("/calendar/notifications/google", methods=["POST"])
@blp.doc(summary="Google Calendar push notification", description="Called by Google for an `events.watch` "
         "channel. The `X-Goog-Channel-Token` must be the channel's token; then an incremental pull of that "
         "calendar is queued (`sync`, the handshake, does nothing).", security=[])
@blp.arguments(GoogleNotificationHeadersSchema, location="headers")
@blp.response(204)
@blp.alt_response(403, description="Wrong channel token or resource")
@blp.alt_response(404, description="Unknown channel")
@blp.alt_response(422, description="Missing Google headers")
@unit_of_work()
def google_notification(headers):
    services.google_notification(headers["channel_id"], headers["token"], headers["resource_state"],
                                 headers["resource_id"])


@blp.route("/calendar/notifications/outlook", methods=["POST"])
@blp.doc(summary="Microsoft Graph change notification", description="With `validationToken` (subscription "
         "handshake) answers it as text/plain. Otherwise every notification's `clientState` must match its "
         "subscription (else 403 and nothing is done); an incremental pull of each calendar is queued.",
         security=[])
@blp.arguments(GraphValidationQuerySchema, location="query")
@blp.arguments(GraphNotificationSchema, examples={"example": {"value": {"value": [{
    "subscriptionId": "7f105c7d-2dc5-4530-97cd-4e7ae6534c07", "clientState": "the-secret-client-state",
    "changeType": "updated", "resource": "Users/ea8d.../Events/AAMk..."}]}}})
@blp.response(202)
@blp.alt_response(200, description="The `validationToken` echoed as text/plain (Graph's subscription handshake)",
                  content_type="text/plain", schema={"type": "string"})
@blp.alt_response(403, description="Wrong clientState")
@blp.alt_response(404, description="Unknown subscription")
@unit_of_work()
def graph_notification(query, body):
    if query["validation_token"]:
        return Response(query["validation_token"], status=200, mimetype="text/plain")
    services.graph_notifications(body["value"])
