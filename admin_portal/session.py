"""Who is signed in to the portal: a signed cookie session backed by a Redis record that logout deletes.

The cookie alone cannot be revoked, so each login gets a random session id stored in Redis for the portal
lifetime; logout (or expiry) deletes it, and a copied cookie stops working. A password reset or deactivation
(the user's token_version changes) ends portal sessions too.
"""
import time

from flask import abort, current_app, g, redirect, request, session, url_for

from admin_portal import bp, csrf
from app.common.auth import mfa_setup_pending
from app.common.inputs import MAX_PAGE, find_problems
from app.common.security import random_token
from app.extensions import db, redis_client
from app.users.models import User

SESSION_RECORD = "portal:session:{sid}"
PUBLIC_ENDPOINTS = {"admin_portal.login", "admin_portal.login_mfa", "admin_portal.static"}
# What a signed-in admin who still owes MFA (MFA_REQUIRED_ROLES) may reach: setting it up, or leaving.
MFA_SETUP_ENDPOINTS = {"admin_portal.mfa_setup", "admin_portal.mfa_enable", "admin_portal.logout"}


def start(user):
    """A fresh session (new id, new CSRF token) for an admin who passed every login step (and whose sign-in the
    view has recorded through the auth services)."""
    session.clear()
    sid = random_token(24)
    lifetime = int(current_app.config["PORTAL_SESSION_LIFETIME"].total_seconds())
    redis_client.client.set(SESSION_RECORD.format(sid=sid), str(user.id), ex=lifetime)
    session.permanent = True
    session.update(uid=user.id, sid=sid, tv=user.token_version)
    csrf.rotate()


def start_mfa(user):
    """Password accepted, TOTP pending: remember who, for as long as an API MFA token lives."""
    session.clear()
    session.update(mfa_uid=user.id, mfa_at=int(time.time()))
    csrf.rotate()


def pending_mfa_user():
    uid = session.get("mfa_uid")
    max_age = current_app.config["MFA_TOKEN_EXPIRES"].total_seconds()
    if uid is None or time.time() - session.get("mfa_at", 0) > max_age:
        return None
    user = db.session.get(User, uid)
    if user is None or not user.is_active or not user.is_admin or not user.mfa_enabled:
        return None
    return user


def end():
    sid = session.get("sid")
    if sid:
        redis_client.client.delete(SESSION_RECORD.format(sid=sid))
    session.clear()


def signed_in_user():
    """The user behind a live portal session, else None."""
    uid, sid = session.get("uid"), session.get("sid")
    if uid is None or sid is None:
        return None
    stored = redis_client.client.get(SESSION_RECORD.format(sid=sid))
    if stored is None or int(stored) != uid:
        return None
    user = db.session.get(User, uid)
    if user is None or not user.is_active or user.token_version != session.get("tv"):
        return None
    return user


def _login_redirect():
    next_path = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("admin_portal.login", next=next_path))


@bp.before_request
def refuse_bad_text():
    """A NUL byte or an unpaired surrogate in a query string or form never reaches the database: 422."""
    values = {key: request.args.getlist(key) for key in request.args}
    if request.method == "POST":
        values.update({f"form.{key}": request.form.getlist(key) for key in request.form})
    if find_problems(values):
        abort(422, "The request holds text that cannot be stored (a NUL byte or invalid Unicode).")


def page_number(source):
    """``page`` from ``request.args`` or ``request.form``, within 1 .. MAX_PAGE (no OFFSET overflow)."""
    return min(max(source.get("page", 1, type=int) or 1, 1), MAX_PAGE)


@bp.before_request
def protect():
    """CSRF on every POST, then: anonymous → the login page, signed in without the admin role → 403, an admin
    without the MFA their role requires → the MFA set-up page (other POSTs: 403)."""
    g.admin = None
    if request.method == "POST":
        csrf.check()
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    user = signed_in_user()
    if user is None:
        if session.get("uid"):
            end()
        return _login_redirect()
    if not user.is_admin:
        end()  # the role is gone: nothing left to do here but sign in again
        abort(403, "This account does not have access to the admin portal.")
    g.admin = user
    if mfa_setup_pending(user) and request.endpoint not in MFA_SETUP_ENDPOINTS:
        if request.method != "GET":
            abort(403, "Set up multi-factor authentication first (Admin portal → Set up MFA).")
        return redirect(url_for("admin_portal.mfa_setup"))
    return None


def safe_next(value):
    """Only a path inside the portal: never an open redirect."""
    if value and value.startswith("/admin/") and "\\" not in value and "//" not in value:
        return value
    return url_for("admin_portal.dashboard")
