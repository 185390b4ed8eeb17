"""Auth endpoints: thin views over the auth services, each write in one unit of work."""
from flask import current_app, request
from flask_jwt_extended import get_current_user, get_jwt

from app.auth import schemas, services
from app.common.api import Blueprint
from app.common.auth import auth_required
from app.common.transactions import unit_of_work
from app.extensions import limiter
from app.users.schemas import MeSchema

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Signup, login, MFA, tokens and passwords")


def _documented(limit):
    """A rate limit, and its 429 in the route's documentation."""
    return lambda view: blp.alt_response(429, description="Too many attempts; see Retry-After")(limit(view))


def _limit(config_key):
    return _documented(limiter.limit(lambda: current_app.config[config_key]))


def _limit_per_email(config_key):
    """A second limit keyed by the account named in the body, so rotating IPs does not help."""

    def email_key():
        body = request.get_json(silent=True) or {}
        email = body.get("email") if isinstance(body, dict) else None
        return f"email:{str(email).strip().lower()}" if email else request.remote_addr

    return _documented(limiter.limit(lambda: current_app.config[config_key], key_func=email_key))


def _mfa_token_key():
    body = request.get_json(silent=True) or {}
    return body.get("mfa_token") if isinstance(body, dict) else None


def _limit_per_mfa_token(config_key):
    """A limit keyed by the presented mfa_token (a digest of it), whichever address sends it."""

    def key():
        token = _mfa_token_key()
        return f"mfa-token:{services.mfa_token_digest(token)}" if isinstance(token, str) else request.remote_addr

    return _documented(limiter.limit(lambda: current_app.config[config_key], key_func=key))


def _limit_per_mfa_account(config_key):
    """A limit keyed by the account an mfa_token names, over all its tokens and addresses."""

    def key():
        user_id = services.mfa_token_account(_mfa_token_key())
        return f"mfa-account:{user_id}" if user_id is not None else request.remote_addr

    return _documented(limiter.limit(lambda: current_app.config[config_key], key_func=key))


@blp.route("/signup", methods=["POST"])
@_limit("RATELIMIT_SIGNUP")
@limiter.limit(lambda: current_app.config["RATELIMIT_SIGNUP_GLOBAL"], key_func=lambda: "signup:all")
@blp.doc(summary="Create an account", description="Roles are chosen among student, tutor and instructor; a "
         "confirmation email is sent. Limited per address (RATELIMIT_SIGNUP) and over all addresses "
         "(RATELIMIT_SIGNUP_GLOBAL, a cap on confirmation emails to new addresses).")
@blp.arguments(schemas.SignupSchema, examples={"student": {"value": {
    "email": "ada@example.com", "password": "correct horse battery", "full_name": "Ada Lovelace",
    "roles": ["student"], "timezone": "Europe/London"}}})
@blp.response(201, MeSchema)
@blp.alt_response(409, description="Email already registered")
@blp.alt_response(429, description="Too many signups; see Retry-After")
@unit_of_work()
def signup(data):
    return services.signup(**data)


@blp.route("/confirm-email", methods=["POST"])
@blp.doc(summary="Confirm an email address", description="Takes the signed token from the confirmation email.")
@blp.arguments(schemas.TokenSchema, examples={"example": {"value": {"token": "eyJ1aWQiOjQyLCJlbWFpbCI6ImFkYUBleGFtcGxlLmNvbSJ9.Zx1y2w.sig"}}})
@blp.response(200, MeSchema)
@unit_of_work()
def confirm_email(data):
    return services.confirm_email(data["token"])


@blp.route("/confirm-email/resend", methods=["POST"])
@auth_required()
@_limit("RATELIMIT_FORGOT")
@blp.doc(summary="Send the confirmation email again", description="For a signed-in user whose email is not confirmed yet; 409 once it is.")
@blp.response(202, schemas.MessageSchema)
@blp.alt_response(409, description="Email already confirmed")
@unit_of_work()
def resend_confirmation():
    services.resend_confirmation(get_current_user())
    return {"message": "Confirmation email sent."}


@blp.route("/login", methods=["POST"])
@_limit("RATELIMIT_LOGIN")
@blp.doc(summary="Log in", description="Returns tokens, or `mfa_required` with an `mfa_token` when MFA is on, or "
         "`mfa_setup_required` with an access token good only for /auth/mfa/setup, /auth/mfa/enable "
         "and /auth/logout when the account's role needs MFA (`MFA_REQUIRED_ROLES`) and it has none. "
         "Failed logins lock out one address for one account (LOGIN_LOCKOUT_FAILURES), and past "
         "LOGIN_ACCOUNT_SLOWDOWN_FAILURES on an account, addresses it was never signed in from are slowed; "
         "never the account as a whole.")
@blp.arguments(schemas.LoginSchema, examples={"example": {"value": {"email": "ada@example.com", "password": "correct horse battery"}}})
@blp.response(200, schemas.LoginResultSchema)
@blp.alt_response(429, description="Too many attempts; see Retry-After")
@blp.alt_response(401, description="Wrong email or password, or inactive account")
@unit_of_work()
def login(data):
    return services.login(data["email"], data["password"], request.remote_addr)


@blp.route("/mfa/verify", methods=["POST"])
@_limit("RATELIMIT_MFA")
@_limit_per_mfa_token("RATELIMIT_MFA_TOKEN")
@_limit_per_mfa_account("RATELIMIT_MFA_ACCOUNT")
@blp.doc(summary="Finish an MFA login", description="A TOTP code or a one-time recovery code, with the `mfa_token` "
         "from login. Limited per address, per mfa_token and per account; a token dies after "
         "MFA_TOKEN_MAX_FAILURES wrong codes (log in again).")
@blp.arguments(schemas.MFAVerifySchema, examples={"totp": {"value": {"mfa_token": "eyJ1aWQiOjQyLCJuIjoi...", "code": "492039"}},
                                               "recovery": {"value": {"mfa_token": "eyJ1aWQiOjQyLCJuIjoi...", "code": "k7m2p-x9qrt"}}})
@blp.response(200, schemas.TokensSchema)
@blp.alt_response(429, description="Too many attempts; see Retry-After")
@blp.alt_response(401, description="MFA token invalid or expired, or wrong code")
@unit_of_work()
def mfa_verify(data):
    return services.verify_mfa_login(data["mfa_token"], data["code"])


@blp.route("/mfa/setup", methods=["POST"])
@auth_required(mfa_setup=True)
@blp.doc(summary="Start MFA setup", description="Creates a TOTP secret; confirm it with /auth/mfa/enable.")
@blp.response(200, schemas.MFASetupResultSchema)
@blp.alt_response(409, description="MFA already enabled")
@unit_of_work()
def mfa_setup():
    return services.start_mfa_setup(get_current_user())


@blp.route("/mfa/enable", methods=["POST"])
@auth_required(mfa_setup=True)
@_limit("RATELIMIT_MFA")
@blp.doc(summary="Enable MFA", description="Confirms the secret with a current code; returns 10 one-time recovery codes.")
@blp.arguments(schemas.MFACodeSchema, examples={"example": {"value": {"code": "492039"}}})
@blp.response(200, schemas.RecoveryCodesSchema)
@blp.alt_response(409, description="MFA already enabled, or not set up")
@unit_of_work()
def mfa_enable(data):
    return services.enable_mfa(get_current_user(), data["code"])


@blp.route("/mfa/disable", methods=["POST"])
@auth_required()
@_limit("RATELIMIT_MFA")
@blp.doc(summary="Disable MFA", description="Needs the password and a TOTP or recovery code.")
@blp.arguments(schemas.MFADisableSchema, examples={"example": {"value": {"password": "correct horse battery", "code": "492039"}}})
@blp.response(204)
@blp.alt_response(409, description="MFA not enabled")
@unit_of_work()
def mfa_disable(data):
    services.disable_mfa(get_current_user(), data["password"], data["code"])


@blp.route("/refresh", methods=["POST"])
@auth_required(refresh=True)
@blp.doc(summary="Rotate tokens", description="Send the refresh token as Bearer; it is revoked and a new pair returned.")
@blp.response(200, schemas.TokensSchema)
@unit_of_work()
def refresh():
    return services.rotate_refresh(get_current_user(), get_jwt())


@blp.route("/logout", methods=["POST"])
@auth_required(mfa_setup=True)
@blp.doc(summary="Log out", description="Revokes this access token and the refresh token issued with it; "
         "sockets connected with this access token are disconnected.")
@blp.response(204)
@unit_of_work()
def logout():
    services.logout(get_jwt())


@blp.route("/password/forgot", methods=["POST"])
@_limit("RATELIMIT_FORGOT")
@_limit_per_email("RATELIMIT_FORGOT")
@blp.doc(summary="Ask for a password reset code", description="Always 202, whether or not the account exists.")
@blp.arguments(schemas.ForgotPasswordSchema, examples={"example": {"value": {"email": "ada@example.com"}}})
@blp.response(202, schemas.MessageSchema)
@unit_of_work()
def forgot_password(data):
    services.forgot_password(data["email"])
    return {"message": "If the account exists, a reset code has been emailed."}


@blp.route("/password/reset", methods=["POST"])
@_limit("RATELIMIT_RESET")
@_limit_per_email("RATELIMIT_RESET")
@blp.doc(summary="Reset the password with the emailed code", description="Ends every existing session.")
@blp.arguments(schemas.ResetPasswordSchema, examples={"example": {"value": {
    "email": "ada@example.com", "otp": "123456", "new_password": "another long passphrase"}}})
@blp.response(204)
def reset_password(data):
    with unit_of_work():
        refusal = services.reset_password(data["email"], data["otp"], data["new_password"])
    if refusal is not None:
        raise refusal  # after the commit: the wrong attempt stays counted


@blp.route("/password", methods=["PATCH"])
@auth_required()
@blp.doc(summary="Change my password", description="Other sessions end; fresh tokens for this one are returned.")
@blp.arguments(schemas.ChangePasswordSchema, examples={"example": {"value": {
    "current_password": "correct horse battery", "new_password": "another long passphrase"}}})
@blp.response(200, schemas.TokensSchema)
@unit_of_work()
def change_password(data):
    return services.change_password(get_current_user(), data["current_password"], data["new_password"])
