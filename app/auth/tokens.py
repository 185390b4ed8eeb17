"""Tokens: the JWT callbacks (who a token names, revocation in Redis, JSON errors) and socket authentication.

Revoked token ids live in Redis until the token would have expired anyway. A token also carries the account's
``token_version`` (``tv``): a password change, reset or deactivation bumps it and every older token stops working.
"""
import time

from flask_jwt_extended import decode_token
from flask_socketio import ConnectionRefusedError

from app.auth import queries
from app.common.auth import MFA_SETUP_SCOPE, mfa_setup_pending
from app.common.errors import error_response
from app.extensions import jwt, redis_client
from app.users.models import User

REVOKED_KEY = "jwt:revoked:{jti}"


def revoke_jti(jti, expires_at_ts):
    """Remember a revoked token id; True when this call revoked it, False when it already was (SET NX)."""
    ttl = max(int(expires_at_ts - time.time()), 1)
    return bool(redis_client.client.set(REVOKED_KEY.format(jti=jti), "1", ex=ttl, nx=True))


def is_revoked(jti):
    return redis_client.client.exists(REVOKED_KEY.format(jti=jti)) == 1


def load_active_user(user_id, token_version):
    """The user a token names, or None when it is gone, deactivated, or the token predates a version bump."""
    row = queries.read_user_with_roles(user_id)
    if row is None:
        return None
    user, role_names = row
    if not user.is_active or token_version != user.token_version:
        return None
    user.preload_roles(role_names.split(",") if role_names else [])
    return user


def user_from_access_token(token):
    """The active user an access token names; ConnectionRefusedError otherwise (socket connect)."""
    if not token or not isinstance(token, str):
        raise ConnectionRefusedError("authentication required")
    try:
        claims = decode_token(token)
    except Exception:  # noqa: BLE001 (expired, malformed, wrong signature: all refused the same way)
        raise ConnectionRefusedError("invalid or expired token") from None
    if claims.get("type") != "access" or claims.get("scope") == MFA_SETUP_SCOPE or is_revoked(claims["jti"]):
        raise ConnectionRefusedError("invalid or expired token")
    user = load_active_user(int(claims["sub"]), claims.get("tv"))
    if user is None:
        raise ConnectionRefusedError("invalid or expired token")
    if mfa_setup_pending(user):
        raise ConnectionRefusedError("MFA setup required")
    return user


def register_jwt_callbacks(app):
    """Bind flask-jwt-extended's loaders: identity, user lookup, blocklist and the standard error bodies."""
    jwt.user_identity_loader(lambda user: str(user.id if isinstance(user, User) else user))
    jwt.user_lookup_loader(lambda _header, payload: load_active_user(int(payload["sub"]), payload.get("tv")))
    jwt.token_in_blocklist_loader(lambda _header, payload: is_revoked(payload["jti"]))
    jwt.unauthorized_loader(lambda reason: error_response(401, f"Authentication required: {reason}"))
    jwt.invalid_token_loader(lambda reason: error_response(401, f"Invalid token: {reason}"))
    jwt.expired_token_loader(lambda _header, _payload: error_response(401, "Token has expired."))
    jwt.revoked_token_loader(lambda _header, _payload: error_response(401, "Token has been revoked."))
    jwt.needs_fresh_token_loader(lambda _header, _payload: error_response(401, "A fresh login is required."))
    jwt.user_lookup_error_loader(
        lambda _header, _payload: error_response(401, "Token no longer valid for this account."))
