"""CSRF protection for the portal's forms: one random token per session, checked on every POST."""
import hmac
import secrets

from flask import abort, request, session
from markupsafe import Markup

SESSION_KEY = "_csrf"
FIELD = "csrf_token"
INVALID_MESSAGE = "The form was not sent from this site or has expired. Reload the page and try again."


def token():
    """The session's token, created on first use (the login page creates it before anyone logs in)."""
    value = session.get(SESSION_KEY)
    if not value:
        value = rotate()
    return value


def rotate():
    value = secrets.token_urlsafe(32)
    session[SESSION_KEY] = value
    return value


def field():
    """The hidden input every portal form carries."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(FIELD, token())


def check():
    """Abort with 400 unless the POSTed token equals the session's, compared in constant time."""
    expected = session.get(SESSION_KEY)
    sent = request.form.get(FIELD, "")
    if not expected or not sent or not hmac.compare_digest(expected.encode(), sent.encode()):
        abort(400, INVALID_MESSAGE)
