"""JWT wiring: user loading, revocation in Redis, JSON errors, and the auth_required decorator."""
import time
from copy import deepcopy
from functools import wraps

import sqlalchemy as sa
from flask_jwt_extended import current_user, verify_jwt_in_request
from sqlalchemy.orm import joinedload

from app.common.errors import Forbidden, error_response
from app.extensions import db, jwt, redis_client

REVOKED_KEY = "jwt:revoked:{jti}"


def revoke_jti(jti, expires_at_ts):
    """Remember a revoked token id until the token would have expired anyway.

    Returns True when this call revoked it, False when it already was (atomic: SET NX).
    """
    ttl = max(int(expires_at_ts - time.time()), 1)
    return bool(redis_client.client.set(REVOKED_KEY.format(jti=jti), "1", ex=ttl, nx=True))


def is_revoked(jti):
    return redis_client.client.exists(REVOKED_KEY.format(jti=jti)) == 1


_USER_WITH_ROLES = []


def _user_with_roles():
    """The one query every authenticated request runs: the user and their roles, built once per process.

    A prebuilt statement with a bound parameter skips rebuilding the select and its loader options on
    each request (about half the cost of ``session.get`` with an eager option, measured by bench/auth.py).
    """
    if not _USER_WITH_ROLES:
        from app.users.models import User

        _USER_WITH_ROLES.append(
            sa.select(User).where(User.id == sa.bindparam("uid")).options(joinedload(User.role_rows))
        )
    return _USER_WITH_ROLES[0]


def register_jwt_callbacks(app):
    from app.users.models import User

    @jwt.user_identity_loader
    def user_identity(user):
        return str(user.id if isinstance(user, User) else user)

    @jwt.user_lookup_loader
    def load_user(_header, payload):
        user = db.session.execute(_user_with_roles(), {"uid": int(payload["sub"])}).unique().scalar_one_or_none()
        if user is None or not user.is_active:
            return None
        # Tokens from before a password reset or deactivation carry an older version.
        if payload.get("tv") != user.token_version:
            return None
        return user

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


def auth_required(*roles, refresh=False):
    """Require a valid access token (or refresh token); with roles, the user needs one of them."""

    def decorator(fn):
        @wraps(fn)
        def wrapper(*args, **kwargs):
            verify_jwt_in_request(refresh=refresh)
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
