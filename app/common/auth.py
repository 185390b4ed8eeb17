"""JWT wiring: user loading, revocation in Redis, JSON errors, and the auth_required decorator."""
import time
from copy import deepcopy
from functools import wraps

import jwt as pyjwt
from flask import g, request
from flask_jwt_extended import current_user, verify_jwt_in_request
from flask_jwt_extended.config import config as jwt_config
from flask_jwt_extended.internal_utils import (
    custom_verification_for_token,
    verify_token_not_blocklisted,
    verify_token_type,
)
from flask_jwt_extended.view_decorators import _load_user

from app.common.errors import Forbidden, error_response
from app.common.user_lookup import load_active_user
from app.extensions import jwt, redis_client

REVOKED_KEY = "jwt:revoked:{jti}"


def revoke_jti(jti, expires_at_ts):
    """Remember a revoked token id until the token would have expired anyway.

    Returns True when this call revoked it, False when it already was (atomic: SET NX).
    """
    ttl = max(int(expires_at_ts - time.time()), 1)
    return bool(redis_client.client.set(REVOKED_KEY.format(jti=jti), "1", ex=ttl, nx=True))


def is_revoked(jti):
    return redis_client.client.exists(REVOKED_KEY.format(jti=jti)) == 1


def register_jwt_callbacks(app):
    from app.users.models import User

    @jwt.user_identity_loader
    def user_identity(user):
        return str(user.id if isinstance(user, User) else user)

    @jwt.user_lookup_loader
    def load_user(_header, payload):
        # Tokens from before a password reset or deactivation carry an older version ("tv").
        return load_active_user(int(payload["sub"]), payload.get("tv"))

    @jwt.token_in_blocklist_loader
    def token_revoked(_header, payload):
        return is_revoked(payload["jti"])

    @jwt.unauthorized_loader
    def missing_token(reason):
        return error_response(401, f"Authentication required: {reason}")

    @jwt.invalid_token_loader
    def invalid_token(reason):
        return error_response(401, f"Invalid token: {reason}")

    @jwt.expired_token_loader
    def expired_token(_header, _payload):
        return error_response(401, "Token has expired.")

    @jwt.revoked_token_loader
    def revoked_token(_header, _payload):
        return error_response(401, "Token has been revoked.")

    @jwt.needs_fresh_token_loader
    def needs_fresh(_header, _payload):
        return error_response(401, "A fresh login is required.")

    @jwt.user_lookup_error_loader
    def user_gone(_header, _payload):
        return error_response(401, "Token no longer valid for this account.")


def _document_security(wrapper):
    wrapper._apidoc = deepcopy(getattr(wrapper, "_apidoc", {}))
    manual = wrapper._apidoc.setdefault("manual_doc", {})
    manual["security"] = [{"bearerAuth": []}]
    responses = manual.setdefault("responses", {})
    responses.setdefault("401", {"description": "Missing, expired or revoked token"})


_PYJWT = pyjwt.PyJWT()


def _bearer_token():
    """The token of a plain ``Authorization: Bearer <jwt>`` header, else None (any other shape, or a token
    location other than headers, goes through flask-jwt-extended's own parser and its error messages)."""
    if tuple(jwt_config.token_location) != ("headers",):
        return None
    header_type = jwt_config.header_type
    value = request.headers.get(jwt_config.header_name)
    if not header_type or not value or not value.startswith(header_type + " "):
        return None
    token = value[len(header_type) + 1:]
    if not token or len(token.split()) != 1 or "," in token:
        return None
    return token


def verify_request_token(refresh=False):
    """verify_jwt_in_request in one pass: the token is parsed and verified once, not four times.

    flask-jwt-extended decodes a token four times per request (unverified claims, unverified header, the
    verified decode, the header again), each pass validating every base64url character in Python. Here
    PyJWT decodes it once with the same key, algorithms, audience, issuer and leeway; the type, revocation,
    claims-verification and user-lookup steps are flask-jwt-extended's own functions, so their errors (and
    the JSON error bodies registered for them) are unchanged. Anything unusual (no header, another header
    shape, a token that fails to decode or has expired) is handed to verify_jwt_in_request, which gives
    the exact error it always gave.
    """
    token = None if request.method in jwt_config.exempt_methods else _bearer_token()
    if token is None:
        verify_jwt_in_request(refresh=refresh)
        return
    try:
        decoded = _PYJWT.decode_complete(
            token,
            key=jwt_config.decode_key,
            algorithms=jwt_config.decode_algorithms,
            audience=jwt_config.decode_audience,
            issuer=jwt_config.decode_issuer,
            leeway=jwt_config.leeway,
            options={"verify_aud": jwt_config.decode_audience is not None, "verify_sub": jwt_config.verify_sub},
        )
    except pyjwt.PyJWTError:
        verify_jwt_in_request(refresh=refresh)
        return
    header, payload = decoded["header"], decoded["payload"]
    if not isinstance(payload, dict) or jwt_config.identity_claim_key not in payload:
        verify_jwt_in_request(refresh=refresh)
        return
    payload.setdefault("type", "access")
    payload.setdefault("fresh", False)
    payload.setdefault("jti", None)
    verify_token_type(payload, refresh)
    verify_token_not_blocklisted(header, payload)
    custom_verification_for_token(header, payload)
    g._jwt_extended_jwt_user = _load_user(header, payload)
    g._jwt_extended_jwt_header = header
    g._jwt_extended_jwt = payload
    g._jwt_extended_jwt_location = "headers"


def auth_required(*roles, refresh=False):
    """Require a valid access token (or refresh token); with roles, the user needs one of them."""

    def decorator(fn):
        @wraps(fn)
        def wrapper(*args, **kwargs):
            verify_request_token(refresh=refresh)
            if roles and not current_user.has_any_role(roles):
                raise Forbidden(f"This action needs the role {' or '.join(roles)}.")
            return fn(*args, **kwargs)

        _document_security(wrapper)
        return wrapper

    return decorator


def confirmed_email_required(fn):
    """Money and booking endpoints: the account's email must be confirmed."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        if not current_user.email_confirmed:
            raise Forbidden("email not confirmed")
        return fn(*args, **kwargs)

    return wrapper
