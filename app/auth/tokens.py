"""Tokens: the JWT callbacks (who a token names, revocation in Redis, JSON errors) and socket authentication.

Revoked token ids live in Redis until the token would have expired anyway. A token also carries the account's
``token_version`` (``tv``): a password change, reset or deactivation bumps it and every older token stops working.

Sockets: a connection keeps the id and version of the token it connected with, and is listed in Redis under its
user (``auth:sockets:<id>``, sid -> "jti tv"), so any process can find and disconnect it when its sessions end.
Before each event the connection is checked in one Redis round trip: its token not revoked, its version not
below the account's ended-below mark (``auth:sessions-ended:<id>``, written once the version bump committed).
"""
import time

from flask import current_app
from flask_jwt_extended import decode_token
from flask_socketio import ConnectionRefusedError

from app.auth import queries
from app.common.auth import MFA_SETUP_SCOPE, mfa_setup_pending
from app.common.errors import error_response
from app.extensions import jwt, redis_client
from app.users.models import User

REVOKED_KEY = "jwt:revoked:{jti}"
SOCKETS_KEY = "auth:sockets:{user_id}"
ENDED_KEY = "auth:sessions-ended:{user_id}"


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
    """(the active user an access token names, its claims); ConnectionRefusedError otherwise (socket connect)."""
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
    return user, claims


def _socket_registry_ttl():
    return int(current_app.config["JWT_REFRESH_TOKEN_EXPIRES"].total_seconds())


def remember_socket(user_id, sid, jti, token_version):
    """List a connection under its user, with the token it connected with."""
    key = SOCKETS_KEY.format(user_id=user_id)
    pipe = redis_client.client.pipeline()
    pipe.hset(key, sid, f"{jti} {token_version}")
    pipe.expire(key, _socket_registry_ttl())
    pipe.execute()


def forget_socket(user_id, sid):
    redis_client.client.hdel(SOCKETS_KEY.format(user_id=user_id), sid)


def socket_session_valid(user_id, credentials):
    """True while the token a socket connected with is neither revoked nor older than the account's last
    session end (one Redis round trip)."""
    if not credentials:
        return False
    pipe = redis_client.client.pipeline(transaction=False)
    pipe.exists(REVOKED_KEY.format(jti=credentials["jti"]))
    pipe.get(ENDED_KEY.format(user_id=user_id))
    revoked, ended_below = pipe.execute()
    return not revoked and (ended_below is None or credentials["tv"] >= int(ended_below))


def mark_sessions_ended(user_id, token_version):
    """Tokens (and sockets) of versions below ``token_version`` are dead from now on."""
    redis_client.client.set(ENDED_KEY.format(user_id=user_id), int(token_version), ex=_socket_registry_ttl())


def sockets_to_end(user_id, token_version=None, token_id=None):
    """The sids of the user's connections made with token ``token_id`` or with a version below ``token_version``;
    they are taken off the user's list."""
    key = SOCKETS_KEY.format(user_id=user_id)
    ending = []
    for sid, value in redis_client.client.hgetall(key).items():
        jti, version = value.decode().split(" ")
        if jti == token_id or (token_version is not None and int(version) < token_version):
            ending.append(sid.decode())
    if ending:
        redis_client.client.hdel(key, *ending)
    return ending


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
