from flask import Response, url_for
from flask_jwt_extended import current_user

from app.calendars import services
from app.calendars.schemas import FeedTokenSchema
from app.common.api import Blueprint
from app.common.auth import auth_required
from app.common.transactions import unit_of_work

blp = Blueprint("calendars", __name__, url_prefix="/api/v1", description="Calendar feeds (ICS)")


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
