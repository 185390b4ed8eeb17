"""HTML error pages and response headers for the portal (the API's handlers answer JSON)."""
import logging
from http import HTTPStatus

from flask import render_template, request
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from admin_portal import bp, csrf
from app.common.errors import REDIS_UNAVAILABLE, DomainError, database_unavailable, retry_after_seconds
from app.extensions import db

log = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def render_error(code, title, message, headers=None):
    body = render_template("admin_portal/error.html", code=code, title=title, message=message)
    return body, code, headers or {}


@bp.errorhandler(HTTPException)
def http_error(error):
    if error.code >= 500:
        db.session.rollback()
    headers = {key: value for key, value in error.get_headers() if key.lower() != "content-type"}
    message = error.description
    if error.code == 429:
        message = f"Too many attempts (limit: {error.description}). Wait a minute and try again."
    return render_error(error.code, error.name, message, headers)


@bp.errorhandler(DomainError)
def domain_error(error):
    if error.code >= 500:
        db.session.rollback()
    return render_error(error.code, HTTPStatus(error.code).phrase, error.message)


def service_unavailable(error):
    log.warning("A backing service is unavailable to the admin portal: %s", error)
    db.session.rollback()
    return render_error(503, "Service Unavailable", "A backing service is down. Please try again in a moment.",
                        {"Retry-After": retry_after_seconds()})


for _error_class in REDIS_UNAVAILABLE:
    bp.register_error_handler(_error_class, service_unavailable)


@bp.errorhandler(DBAPIError)
def database_error(error):
    """Registered on the blueprint, or the app's JSON handler for DBAPIError would answer portal pages."""
    return service_unavailable(error) if database_unavailable(error) else unexpected_error(error)


@bp.errorhandler(Exception)
def unexpected_error(error):
    log.exception("Unhandled error in the admin portal")
    db.session.rollback()
    return render_error(500, "Internal Server Error", "Something went wrong on our side. Please try again.")


@bp.after_request
def security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.endpoint != "admin_portal.static":
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.context_processor
def template_helpers():
    return {"csrf_field": csrf.field}
