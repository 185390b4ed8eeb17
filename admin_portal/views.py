"""Portal pages: thin views over the users, auth and tutors services; each write in one unit of work."""
from flask import (
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from admin_portal import bp
from admin_portal import session as portal_session
from app.analytics import services as analytics
from app.auth import services as auth_services
from app.common.errors import Conflict, Invalid, NotFound, TooManyRequests, Unauthorized
from app.common.transactions import unit_of_work
from app.extensions import db, limiter
from app.tutors import services as tutors
from app.users import services as users
from app.users.models import ROLES

LOGIN_REFUSED = "Invalid email or password, or this account cannot use the admin portal."
USERS_PER_PAGE = 25
DOCUMENTS_PER_PAGE = 25
STATUS_FILTERS = {"active": True, "inactive": False}
REASON_MAX_LENGTH = 500


def _pending_user_key():
    return f"portal-mfa:{session.get('mfa_uid') or request.remote_addr}"


def _limit(config_key, key_func=None):
    """Only POSTs count: showing the form is free."""
    return limiter.limit(lambda: current_app.config[config_key], key_func=key_func, methods=["POST"])


# --- sign in and out ----------------------------------------------------------------------------

@bp.route("/login", methods=["GET", "POST"])
@_limit("RATELIMIT_LOGIN")
def login():
    next_path = request.values.get("next", "")
    if request.method == "GET":
        user = portal_session.signed_in_user()
        if user is not None and user.is_admin:
            return redirect(portal_session.safe_next(next_path))
        return render_template("admin_portal/login.html", email="", next=next_path)
    email = request.form.get("email", "").strip()
    try:
        # The API's failed-login lockouts (per address and account), never an account-wide lock.
        user = auth_services.authenticate(email, request.form.get("password", ""), request.remote_addr)
    except TooManyRequests as refusal:
        flash(refusal.message, "error")
        return render_template("admin_portal/login.html", email=email, next=next_path), 429, refusal.headers
    except Unauthorized:
        user = None
    if user is None or not user.is_admin:
        flash(LOGIN_REFUSED, "error")
        return render_template("admin_portal/login.html", email=email, next=next_path)
    if user.mfa_enabled:
        portal_session.start_mfa(user)
        return redirect(url_for("admin_portal.login_mfa", next=next_path or None))
    with unit_of_work():
        auth_services.record_login(user)
    portal_session.start(user)
    if auth_services.mfa_setup_required(user):
        flash("Your role requires multi-factor authentication: set it up to use the portal.", "error")
        return redirect(url_for("admin_portal.mfa_setup"))
    flash(f"Signed in as {user.email}.", "success")
    return redirect(portal_session.safe_next(next_path))


@bp.route("/mfa/setup", methods=["GET", "POST"])
def mfa_setup():
    """GET: the set-up page (a secret once one was generated); POST: a new secret (replacing an unconfirmed one)."""
    if g.admin.mfa_enabled:
        return redirect(url_for("admin_portal.dashboard"))
    if request.method == "POST":
        with unit_of_work():
            auth_services.start_mfa_setup(g.admin)
        return redirect(url_for("admin_portal.mfa_setup"), 303)
    setup = None
    if g.admin.mfa_secret:
        setup = {"secret": g.admin.mfa_secret,
                 "otpauth_uri": auth_services.mfa_provisioning_uri(g.admin)}
    return render_template("admin_portal/mfa_setup.html", setup=setup,
                           required=auth_services.mfa_setup_required(g.admin))


@bp.route("/mfa/enable", methods=["POST"])
@_limit("RATELIMIT_MFA")
def mfa_enable():
    try:
        with unit_of_work():
            result = auth_services.enable_mfa(g.admin, request.form.get("code", "").strip())
    except (Conflict, Invalid) as error:
        flash(error.message, "error")
        return redirect(url_for("admin_portal.mfa_setup"), 303)
    return render_template("admin_portal/mfa_codes.html", codes=result["recovery_codes"])


@bp.route("/login/mfa", methods=["GET", "POST"])
@_limit("RATELIMIT_MFA")
@_limit("RATELIMIT_MFA", key_func=_pending_user_key)
def login_mfa():
    next_path = request.values.get("next", "")
    user = portal_session.pending_mfa_user()
    if user is None:
        portal_session.end()
        flash("Your sign-in expired; enter your email and password again.", "error")
        return redirect(url_for("admin_portal.login"))
    if request.method == "POST":
        with unit_of_work():  # a code it accepts is marked used, never to be accepted again
            accepted = auth_services.check_second_factor(user, request.form.get("code", ""))
            if accepted:
                auth_services.record_login(user)
        if accepted:
            portal_session.start(user)
            flash(f"Signed in as {user.email}.", "success")
            return redirect(portal_session.safe_next(next_path))
        flash("Invalid or already used authentication code.", "error")
    return render_template("admin_portal/mfa.html", next=next_path)


@bp.route("/logout", methods=["POST"])
def logout():
    portal_session.end()
    flash("Signed out.", "success")
    return redirect(url_for("admin_portal.login"))


# --- pages --------------------------------------------------------------------------------------

@bp.route("/")
def dashboard():
    return render_template("admin_portal/dashboard.html", counts=tutors.dashboard_counts())


@bp.route("/tutor-documents")
def document_queue():
    page = portal_session.page_number(request.args)
    pagination = db.paginate(tutors.review_query(), page=page, per_page=DOCUMENTS_PER_PAGE, error_out=False)
    links = {document.id: tutors.document_download_url(document) for document in pagination.items}
    return render_template(
        "admin_portal/queue.html", pagination=pagination, links=links, reason_max_length=REASON_MAX_LENGTH
    )


@bp.route("/tutor-documents/<int:document_id>/approve", methods=["POST"])
def approve_document(document_id):
    return _decide(document_id, "approved", lambda: tutors.approve_document(g.admin, document_id))


@bp.route("/tutor-documents/<int:document_id>/reject", methods=["POST"])
def reject_document(document_id):
    reason = request.form.get("reason", "").strip()
    if not reason:
        flash("A reason is required to reject a document.", "error")
        return _back_to_queue()
    if len(reason) > REASON_MAX_LENGTH:
        flash(f"The reason must be at most {REASON_MAX_LENGTH} characters.", "error")
        return _back_to_queue()
    return _decide(document_id, "rejected", lambda: tutors.reject_document(g.admin, document_id, reason))


def _back_to_queue():
    page = portal_session.page_number(request.form)
    return redirect(url_for("admin_portal.document_queue", page=page if page > 1 else None), 303)


def _decide(document_id, outcome, decide):
    try:
        with unit_of_work():
            document = decide()
    except (Conflict, Invalid) as error:
        flash(error.message, "error")
    else:
        label = document.kind.replace("_", " ")
        flash(f"The {label} of {document.tutor.full_name} ({document.tutor.email}) was {outcome}.", "success")
    return _back_to_queue()


@bp.route("/users")
def user_list():
    q = request.args.get("q", "").strip()[:100]
    role = request.args.get("role", "")
    role = role if role in ROLES else ""
    status = request.args.get("status", "")
    status = status if status in STATUS_FILTERS else ""
    page = portal_session.page_number(request.args)
    stmt = users.admin_user_query(q=q or None, role=role or None, is_active=STATUS_FILTERS.get(status))
    pagination = db.paginate(stmt, page=page, per_page=USERS_PER_PAGE, error_out=False)
    filters = {key: value for key, value in (("q", q), ("role", role), ("status", status)) if value}
    active = analytics.active_days([user.id for user in pagination.items])
    return render_template(
        "admin_portal/users.html", pagination=pagination, filters=filters, roles=ROLES, q=q, role=role, status=status,
        active=active,
    )


@bp.route("/users/<int:user_id>/roles", methods=["POST"])
def set_user_roles(user_id):
    wanted = [name for name in request.form.getlist("roles") if name in ROLES]
    return _change_user(user_id, {"roles": wanted}, "roles saved")


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
def deactivate_user(user_id):
    return _change_user(user_id, {"is_active": False}, "deactivated")


@bp.route("/users/<int:user_id>/reactivate", methods=["POST"])
def reactivate_user(user_id):
    return _change_user(user_id, {"is_active": True}, "reactivated")


def _change_user(user_id, changes, done):
    """The API's admin_update_user (same rules, same audit row), then back to the list as it was filtered."""
    try:
        with unit_of_work():
            user = users.admin_update_user(g.admin, user_id, changes)
    except (Invalid, NotFound) as error:
        flash(error.message, "error")
    else:
        flash(f"{user.full_name} ({user.email}): {done}.", "success")
    back = {key: request.form.get(key) for key in ("q", "role", "status", "page") if request.form.get(key)}
    return redirect(url_for("admin_portal.user_list", **back), 303)


@bp.route("/<path:unknown>", methods=["GET", "POST"])
def not_found(unknown):
    """Unknown portal URLs get the portal's 404 page rather than the API's JSON."""
    abort(404)
