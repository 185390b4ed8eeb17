"""Domain errors and the one JSON error shape: {code, status, message, errors}."""
import logging
from http import HTTPStatus

from flask import current_app, jsonify
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from app.extensions import db

log = logging.getLogger(__name__)


class DomainError(Exception):
    """Raised by services; the error handler turns it into the standard body."""

    code = 400

    def __init__(self, message=None, errors=None, headers=None):
        super().__init__(message)
        self.message = message or HTTPStatus(self.code).phrase
        self.errors = errors
        self.headers = headers or {}


class Invalid(DomainError):
    code = 422


class Unauthorized(DomainError):
    code = 401


class Forbidden(DomainError):
    code = 403


class NotFound(DomainError):
    code = 404


class Conflict(DomainError):
    code = 409


class PayloadTooLarge(DomainError):
    code = 413


class UnsupportedMediaType(DomainError):
    code = 415


class TooManyRequests(DomainError):
    code = 429


class ServiceUnavailable(DomainError):
    """A dependency (Redis, the database) is down: the client may retry after ``Retry-After`` seconds."""

    code = 503

    def __init__(self, message=None, errors=None, headers=None):
        super().__init__(message, errors, {"Retry-After": retry_after_seconds(), **(headers or {})})


# Redis unreachable (refused, reset, timed out): the request cannot be served now, but may be in a moment.
REDIS_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError)
UNAVAILABLE_MESSAGE = "A backing service is unavailable; retry shortly."


# SQLSTATE classes of a server out of reach: connection exceptions (08), shutting down or starting up (57P).
UNAVAILABLE_SQLSTATES = ("08", "57P")


def database_unavailable(error):
    """A DBAPIError that says the database is out of reach: no connection could be made, or the server dropped it
    (a restart, a failover). Other database errors (a bad statement, a constraint) are bugs or conflicts."""
    sqlstate = getattr(error.orig, "sqlstate", None)
    if error.connection_invalidated or (sqlstate or "").startswith(UNAVAILABLE_SQLSTATES):
        return True
    return error.statement is None and sqlstate is None  # raised while connecting, before any statement


def retry_after_seconds():
    return str(current_app.config.get("SERVICE_UNAVAILABLE_RETRY_AFTER", 5))


# Where webargs found a request's input; its 422s nest errors under these, the one layout flattens them.
INPUT_LOCATIONS = ("json", "query", "path", "form", "files", "headers", "cookies", "json_or_form", "querystring",
                   "multipart")


def error_body(code, message=None, errors=None):
    """The one error shape. A 422's ``errors`` always maps input field names to lists of messages (nested
    fields nest the same way; ``_schema`` for what belongs to no one field), whoever refused the input:
    webargs/marshmallow (REST), a service's ``Invalid`` or a Socket.IO handler."""
    body = {"code": code, "status": HTTPStatus(code).phrase}
    if message:
        body["message"] = message
    if code == 422 and not errors:
        errors = {"_schema": [message or "Invalid input."]}
    if errors:
        body["errors"] = errors
    return body


def field_errors(errors):
    """webargs' ``{location: {field: [messages]}}`` as ``{field: [messages]}``; a field met in two locations
    keeps the later one under ``location.field``."""
    if not isinstance(errors, dict) or not errors or not set(errors) <= set(INPUT_LOCATIONS):
        return errors
    flat = {}
    for location, fields in errors.items():
        if not isinstance(fields, dict):
            flat.setdefault("_schema", []).extend(fields if isinstance(fields, list) else [fields])
            continue
        for name, messages in fields.items():
            flat[f"{location}.{name}" if name in flat else name] = messages
    return flat


def error_response(code, message=None, errors=None, headers=None):
    response = jsonify(error_body(code, message, errors))
    response.status_code = code
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def handle_domain_error(error):
    if error.code >= 500:
        db.session.rollback()
    return error_response(error.code, error.message, error.errors, error.headers)


def handle_http_exception(error):
    """Like flask-smorest's handler, plus headers such as Retry-After set by the exception."""
    data = getattr(error, "data", None) or {}
    errors = field_errors(data.get("errors") or data.get("messages"))  # webargs: "messages", by location
    message = data.get("message") or ("Validation failed." if errors and error.code == 422 else error.description)
    # Keep the exception's own headers (Allow on 405, WWW-Authenticate, ...) but not its HTML content type.
    headers = {key: value for key, value in error.get_headers() if key.lower() not in {"content-type", "content-length"}}
    headers.update(data.get("headers") or {})
    if error.code == 429:
        retry_after = getattr(error, "retry_after", None)
        if retry_after is None and getattr(error, "limit", None) is not None:
            retry_after = int(error.limit.limit.get_expiry())
        if retry_after is not None:
            headers.setdefault("Retry-After", str(retry_after))
        message = f"Too many requests: limit of {error.description}" if error.description else message
    if error.code >= 500:
        db.session.rollback()
    return error_response(error.code, message, errors, headers)


def handle_redis_unavailable(error):
    """Redis down (revoked-token lookups, sessions, caches): 503 with Retry-After instead of a bare 500."""
    log.warning("Redis unavailable: %s", error)
    return handle_domain_error(ServiceUnavailable(UNAVAILABLE_MESSAGE))


def handle_database_error(error):
    if not database_unavailable(error):
        return handle_unexpected_error(error)
    log.warning("Database unavailable: %s", error)
    return handle_domain_error(ServiceUnavailable("The database is unavailable; retry shortly."))


def handle_unexpected_error(error):
    if isinstance(error, HTTPException):
        return handle_http_exception(error)
    log.exception("Unhandled error")
    db.session.rollback()
    return error_response(500, "An unexpected error occurred.")


def register_error_handlers(app):
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    for error_class in REDIS_UNAVAILABLE:
        app.register_error_handler(error_class, handle_redis_unavailable)
    app.register_error_handler(DBAPIError, handle_database_error)
    app.register_error_handler(Exception, handle_unexpected_error)
