"""The API's auth decorators, on flask-jwt-extended's public API (its callbacks are bound by ``app.auth``)."""
from copy import deepcopy
from functools import wraps

from flask import current_app
from flask_jwt_extended import current_user, get_jwt, verify_jwt_in_request

from app.common.errors import Forbidden

# The claim of an access token issued to an account that must set up MFA first (MFA_REQUIRED_ROLES).
MFA_SETUP_SCOPE = "mfa_setup"
MFA_SETUP_MESSAGE = (
    "Your account's role requires multi-factor authentication. Set it up first: POST /api/v1/auth/mfa/setup, "
    "then POST /api/v1/auth/mfa/enable with a code from your authenticator app, then log in again "
    "(admins can also do this in the portal at /admin/)."
)


def mfa_setup_pending(user):
    """True when one of the user's roles is in MFA_REQUIRED_ROLES and MFA is not enabled yet."""
    required = current_app.config.get("MFA_REQUIRED_ROLES") or ()
    return bool(required) and not user.mfa_enabled and user.has_any_role(required)


def refuse_until_mfa(claims, user):
    """Forbidden (403, saying what to do) for a setup-only token or an account that still owes its MFA."""
    if claims.get("scope") == MFA_SETUP_SCOPE or mfa_setup_pending(user):
        raise Forbidden(MFA_SETUP_MESSAGE, errors={"mfa": ["MFA setup required."]})


def _document_security(wrapper, forbidden=None):
    wrapper._apidoc = deepcopy(getattr(wrapper, "_apidoc", {}))
    manual = wrapper._apidoc.setdefault("manual_doc", {})
    manual["security"] = [{"bearerAuth": []}]
    responses = manual.setdefault("responses", {})
    responses.setdefault("401", {"description": "Missing, expired or revoked token"})
    if forbidden:
        _document_forbidden(wrapper, forbidden)


def _document_forbidden(wrapper, description):
    wrapper._apidoc = deepcopy(getattr(wrapper, "_apidoc", {}))
    responses = wrapper._apidoc.setdefault("manual_doc", {}).setdefault("responses", {})
    previous = responses.get("403", {}).get("description")
    responses["403"] = {"description": f"{previous}; {description}" if previous else description}


def auth_required(*roles, refresh=False, mfa_setup=False):
    """Require a valid access token (or refresh token); with roles, the user needs one of them. An account
    that must set up MFA is refused (403) except by the views marked ``mfa_setup=True``."""

    def decorator(fn):
        @wraps(fn)
        def wrapper(*args, **kwargs):
            verify_jwt_in_request(refresh=refresh)
            if not mfa_setup:
                refuse_until_mfa(get_jwt(), current_user)
            if roles and not current_user.has_any_role(roles):
                raise Forbidden(f"This action needs the role {' or '.join(roles)}.")
            return fn(*args, **kwargs)

        _document_security(wrapper, roles and f"Needs the role {' or '.join(roles)}")
        return wrapper

    return decorator


def confirmed_email_required(fn):
    """Money and booking endpoints: the account's email must be confirmed."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        if not current_user.email_confirmed:
            raise Forbidden("email not confirmed")
        return fn(*args, **kwargs)

    _document_forbidden(wrapper, "Email not confirmed")
    return wrapper
