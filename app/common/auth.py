"""The API's auth decorators, on flask-jwt-extended's public API (its callbacks are bound by ``app.auth``)."""
from copy import deepcopy
from functools import wraps

from flask_jwt_extended import current_user, verify_jwt_in_request

from app.common.errors import Forbidden


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


def auth_required(*roles, refresh=False):
    """Require a valid access token (or refresh token); with roles, the user needs one of them."""

    def decorator(fn):
        @wraps(fn)
        def wrapper(*args, **kwargs):
            verify_jwt_in_request(refresh=refresh)
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
