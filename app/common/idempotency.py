"""Idempotency-Key for money-moving POSTs, with Stripe's semantics, as one decorator: ``@idempotent()``.

A client sends ``Idempotency-Key: <unique string>`` (at most 255 characters). The first request with a key
runs and its response (status, body, headers) is stored; a retry with the same key and the same request
(method, path, body) gets that stored response again, with ``Idempotent-Replayed: true``; the same key with
another request is 422; a retry while the first is still running is 409. Keys are per user and kept
``IDEMPOTENCY_KEY_TTL_HOURS``. A response of 5xx, 409 or 429 is not stored (the request changed nothing, or
a retry may succeed): the key is freed for a retry. Neither is a request whose parameters failed the view's
schema (webargs' 422, before the view ran): as at Stripe, the corrected request may reuse the key. A process dying between the view's commit and storing the
response leaves the key ``in_flight``: it answers 409 until it expires rather than risk running twice.

Place the decorator below the auth decorators and above ``@blp.arguments`` (it must see the caller and wrap
the parsing, the unit of work and the response serialisation):

    @auth_required()
    @confirmed_email_required
    @idempotent()
    @blp.doc(..., parameters=[IDEMPOTENCY_KEY_PARAMETER])
    @blp.arguments(...)
    @blp.response(201, ...)
    @unit_of_work()
    def post(self, data):
        ... services.f(..., idempotency_key=idempotency.current_key())
"""
import hashlib
from datetime import timedelta
from functools import wraps

import sqlalchemy as sa
from flask import current_app, g, make_response, request
from flask_jwt_extended import current_user
from marshmallow import ValidationError
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.exceptions import HTTPException

from app.common import time as clock
from app.common.errors import Conflict, DomainError, Invalid, handle_domain_error, handle_http_exception
from app.common.models import JSONType
from app.common.time import UTCDateTime, utcnow
from app.common.transactions import unit_of_work
from app.extensions import db

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
NOT_STORED = {409, 429}
IDEMPOTENCY_KEY_PARAMETER = {
    "in": "header", "name": HEADER, "required": False, "schema": {"type": "string", "maxLength": MAX_KEY_LENGTH},
    "description": "A unique key per intended operation: a retry with the same key and body replays the first "
                   "response; the same key with another body is 422; while the first is running, 409.",
}


class IdempotencyKey(db.Model):
    __tablename__ = "idempotency_keys"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_key"),
        sa.CheckConstraint("state IN ('in_flight', 'done')", name="state_known"),
        sa.Index("ix_idempotency_keys_expires_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    key: Mapped[str] = mapped_column(sa.String(MAX_KEY_LENGTH), nullable=False)
    # sha256 of method, path and body: the same key with another request is refused.
    fingerprint: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    state: Mapped[str] = mapped_column(sa.String(12), default="in_flight", nullable=False)
    response_status: Mapped[int | None] = mapped_column(sa.SmallInteger)
    response_body: Mapped[str | None] = mapped_column(sa.Text)
    response_headers: Mapped[dict | None] = mapped_column(JSONType)
    created_at: Mapped[object] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    expires_at: Mapped[object] = mapped_column(UTCDateTime, nullable=False)


def current_key():
    """The Idempotency-Key of the request being served by an ``@idempotent`` view, or None."""
    return g.get("idempotency_key")


def _fingerprint():
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.path.encode(), request.get_data(cache=True)):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def _claim(user_id, key, fingerprint):
    """Insert the key as in flight (committed at once, so a concurrent retry sees it); None when claimed, else
    the existing row."""
    now = clock.utcnow()
    ttl = timedelta(hours=current_app.config["IDEMPOTENCY_KEY_TTL_HOURS"])
    with unit_of_work():
        db.session.execute(sa.delete(IdempotencyKey).where(
            IdempotencyKey.user_id == user_id, IdempotencyKey.key == key, IdempotencyKey.expires_at <= now))
    try:
        with unit_of_work():
            db.session.add(IdempotencyKey(user_id=user_id, key=key, fingerprint=fingerprint, state="in_flight",
                                          created_at=now, expires_at=now + ttl))
        return None
    except Conflict:
        return db.session.scalar(sa.select(IdempotencyKey).where(IdempotencyKey.user_id == user_id,
                                                                 IdempotencyKey.key == key))


def _replay(row, fingerprint):
    if row.fingerprint != fingerprint:
        raise Invalid("This Idempotency-Key was used with another request.",
                      errors={HEADER: ["Already used with a different method, path or body."]})
    if row.state != "done":
        raise Conflict("A request with this Idempotency-Key is still in progress; retry later.")
    response = current_app.response_class(row.response_body, status=row.response_status,
                                          mimetype="application/json")
    for name, value in (row.response_headers or {}).items():
        response.headers[name] = value
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _finish(user_id, key, response):
    with unit_of_work():
        row = db.session.scalar(sa.select(IdempotencyKey).where(IdempotencyKey.user_id == user_id,
                                                                IdempotencyKey.key == key))
        if row is None:
            return
        if response is None or response.status_code >= 500 or response.status_code in NOT_STORED:
            db.session.delete(row)
            return
        row.state = "done"
        row.response_status = response.status_code
        row.response_body = response.get_data(as_text=True)
        row.response_headers = {name: value for name, value in response.headers.items()
                                if name.lower() in ("location", "x-pagination")}


def _run(fn, args, kwargs):
    """(response, store): the view's response, and whether it may be replayed for the key."""
    try:
        return make_response(fn(*args, **kwargs)), True
    except DomainError as error:
        return handle_domain_error(error), True
    except HTTPException as error:
        refused_by_schema = isinstance(getattr(error, "exc", None), ValidationError)  # webargs.flaskparser.abort
        return handle_http_exception(error), not refused_by_schema


def idempotent():
    """Decorate a POST view: honour ``Idempotency-Key`` as described in this module (without the header the
    view runs as usual)."""

    def decorator(fn):
        @wraps(fn)
        def wrapper(*args, **kwargs):
            key = request.headers.get(HEADER)
            if key is None:
                return fn(*args, **kwargs)
            if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
                raise Invalid("Bad Idempotency-Key.", errors={HEADER: [f"1 to {MAX_KEY_LENGTH} printable "
                                                                        "characters."]})
            user_id, fingerprint = current_user.id, _fingerprint()
            existing = _claim(user_id, key, fingerprint)
            if existing is not None:
                return _replay(existing, fingerprint)
            g.idempotency_key = key
            response, store = None, False
            try:
                response, store = _run(fn, args, kwargs)
            finally:
                g.pop("idempotency_key", None)  # an app context outliving the request must not keep it
                _finish(user_id, key, response if store else None)
            return response

        return wrapper

    return decorator


def purge_expired(now=None):
    """Delete expired keys (the caller's unit commits); returns how many."""
    result = db.session.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.expires_at <= (now or clock.utcnow())))
    return result.rowcount
