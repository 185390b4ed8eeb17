"""Authentication rules: signup, confirmation, login (with MFA), token rotation, password reset.

Nothing here commits: the caller's unit of work does (``app.common.transactions``). A refusal that must keep a
write (a wrong password-reset code counts an attempt) is returned rather than raised, so the caller commits the
count first and raises it afterwards.
"""
import logging

import sqlalchemy as sa
from flask import current_app
from flask_jwt_extended import create_access_token, create_refresh_token, decode_token
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app.auth import lockout, tokens, totp
from app.auth.models import PasswordResetOTP, RecoveryCode
from app.auth.tokens import revoke_jti
from app.common.auth import MFA_SETUP_SCOPE, mfa_setup_pending
from app.common.errors import REDIS_UNAVAILABLE, Conflict, Invalid, Unauthorized
from app.common.events import publish
from app.common.security import (
    digest_matches,
    hash_password,
    keyed_digest,
    password_needs_rehash,
    random_digits,
    random_token,
    verify_password,
)
from app.common.time import utcnow
from app.extensions import db, redis_client
from app.notifications import services as notifications
from app.users import services as users
from app.users.models import User

log = logging.getLogger(__name__)

MFA_NONCE_KEY = "auth:mfa-nonce:{nonce}"
MFA_FAILURES_KEY = "auth:mfa-failures:{nonce}"
INVALID_CREDENTIALS = "Invalid email or password."


def _serializer(salt):
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


# --- signup and email confirmation -------------------------------------------------------------

def signup(email, password, full_name, roles, timezone):
    user = users.create_user(email, password, full_name, sorted(set(roles)), timezone=timezone)
    _queue_confirmation_email(user)
    return user


def _queue_confirmation_email(user):
    token = _serializer("email-confirm").dumps({"uid": user.id, "email": user.email})
    link = f"{current_app.config['FRONTEND_URL']}/confirm-email?token={token}"
    notifications.queue_email(
        user.email,
        "Confirm your Tutorhub email",
        f"Hello {user.full_name},\n\nConfirm your email by opening this link:\n{link}\n\n"
        f"Or send this token to POST /api/v1/auth/confirm-email:\n{token}\n\n"
        f"The link expires in {current_app.config['EMAIL_CONFIRM_MAX_AGE'].days} days.\n",
        user_id=user.id,
        kind="email_confirmation",
    )


def resend_confirmation(user):
    if user.email_confirmed:
        raise Conflict("Your email is already confirmed.")
    _queue_confirmation_email(user)


def confirm_email(token):
    max_age = int(current_app.config["EMAIL_CONFIRM_MAX_AGE"].total_seconds())
    try:
        data = _serializer("email-confirm").loads(token, max_age=max_age)
    except SignatureExpired:
        raise Invalid("This confirmation link has expired; ask for a new one.") from None
    except BadSignature:
        raise Invalid("This confirmation link is not valid.") from None
    user = db.session.get(User, data["uid"])
    if user is None or user.email != data["email"]:
        raise Invalid("This confirmation link is not valid.")
    users.confirm_email(user)
    return user


# --- tokens -------------------------------------------------------------------------------------

def issue_tokens(user):
    """A refresh/access pair; the access token names its refresh token so logout can revoke both."""
    refresh_token = create_refresh_token(identity=user, additional_claims={"tv": user.token_version})
    refresh_jti = decode_token(refresh_token)["jti"]
    access_token = create_access_token(
        identity=user, additional_claims={"tv": user.token_version, "roles": user.roles, "rjti": refresh_jti}
    )
    users.record_login(user)
    return {"access_token": access_token, "refresh_token": refresh_token, "token_type": "Bearer", "user": user}


def record_login(user):
    """The admin portal's sign-in: remember it and announce it (``user.signed_in``)."""
    users.record_login(user)
    _signed_in(user)


def _signed_in(user):
    publish("user.signed_in", user_id=user.id)


def rotate_refresh(user, refresh_claims):
    """Refresh tokens are single use: the presented one is revoked and a new pair issued."""
    if not revoke_jti(refresh_claims["jti"], refresh_claims["exp"]):
        # Another request rotated this token a moment ago: it is spent.
        raise Unauthorized("Token has been revoked.")
    return issue_tokens(user)


def logout(access_claims):
    """Revoke this access token and its refresh token; sockets connected with it are disconnected."""
    revoke_jti(access_claims["jti"], access_claims["exp"])
    publish("user.sessions_ended", user_id=int(access_claims["sub"]), reason="logout", token_version=None,
            token_id=access_claims["jti"])
    refresh_jti = access_claims.get("rjti")
    if refresh_jti:
        refresh_expiry = access_claims["iat"] + current_app.config["JWT_REFRESH_TOKEN_EXPIRES"].total_seconds()
        revoke_jti(refresh_jti, refresh_expiry)


# --- login and MFA ------------------------------------------------------------------------------

def authenticate(email, password, address=None):
    """The active user with these credentials, else Unauthorized (same message and timing either way).

    With the client's ``address``, failed-login lockouts apply (``app.auth.lockout``): TooManyRequests while
    this address is locked out of this account or slowed."""
    if address is not None:
        lockout.check(address, email)
    try:
        user = _check_credentials(email, password)
    except Unauthorized:
        if address is not None:
            lockout.record_failure(address, email)
        raise
    if address is not None:
        lockout.record_success(address, email)
    return user


def _check_credentials(email, password):
    user = users.find_by_email(email)
    if user is None:
        # Hash anyway so a missing account takes as long as a wrong password.
        verify_password(_dummy_hash(), password)
        raise Unauthorized(INVALID_CREDENTIALS)
    if not verify_password(user.password_hash, password) or not user.is_active:
        raise Unauthorized(INVALID_CREDENTIALS)
    if password_needs_rehash(user.password_hash):
        users.upgrade_password_hash(user, password)
    return user


def login(email, password, address=None):
    user = authenticate(email, password, address)
    if user.mfa_enabled:
        return {"mfa_required": True, "mfa_token": _mfa_token_for(user)}
    if mfa_setup_pending(user):
        return _mfa_setup_token(user)
    _signed_in(user)
    return issue_tokens(user)


def _mfa_setup_token(user):
    """An access token that only sets up MFA (scope claim; no refresh token): the role requires MFA first."""
    access_token = create_access_token(
        identity=user, additional_claims={"tv": user.token_version, "roles": user.roles, "scope": MFA_SETUP_SCOPE}
    )
    return {"mfa_setup_required": True, "access_token": access_token, "token_type": "Bearer", "user": user}


_DUMMY = {}


def _dummy_hash():
    config = current_app.config
    key = (config["ARGON2_TIME_COST"], config["ARGON2_MEMORY_COST"], config["ARGON2_PARALLELISM"])
    if key not in _DUMMY:
        _DUMMY[key] = hash_password(random_token())
    return _DUMMY[key]


def _mfa_token_for(user):
    nonce = random_token(16)
    ttl = int(current_app.config["MFA_TOKEN_EXPIRES"].total_seconds())
    redis_client.client.set(MFA_NONCE_KEY.format(nonce=nonce), str(user.id), ex=ttl)
    return _serializer("mfa-login").dumps({"uid": user.id, "n": nonce})


def mfa_token_digest(mfa_token):
    """A short stable name for an mfa_token (rate-limit keys), never the token itself."""
    return keyed_digest(f"mfa-token:{mfa_token}")[:32]


def mfa_token_account(mfa_token):
    """The user id a genuine mfa_token names (expired or not), else None: for per-account rate limits."""
    if not isinstance(mfa_token, str):
        return None
    try:
        data = _serializer("mfa-login").loads(mfa_token)
    except BadSignature:
        return None
    return data.get("uid") if isinstance(data, dict) else None


def verify_mfa_login(mfa_token, code):
    max_age = int(current_app.config["MFA_TOKEN_EXPIRES"].total_seconds())
    try:
        data = _serializer("mfa-login").loads(mfa_token, max_age=max_age)
    except BadSignature:  # SignatureExpired is a subclass
        raise Unauthorized("The MFA token is invalid or has expired; log in again.") from None
    nonce_key = MFA_NONCE_KEY.format(nonce=data["n"])
    if redis_client.client.get(nonce_key) is None:
        raise Unauthorized("The MFA token is invalid or has expired; log in again.")
    user = db.session.get(User, data["uid"])
    if user is None or not user.is_active or not user.mfa_enabled:
        raise Unauthorized("The MFA token is invalid or has expired; log in again.")
    if not _accept_second_factor(user, code):
        # A refused code consumed nothing, so the unit of work may roll back; the token counts the failure.
        _count_mfa_failure(data["n"])
        raise Unauthorized("Invalid authentication code.")
    redis_client.client.delete(nonce_key)
    _signed_in(user)
    return issue_tokens(user)


def _count_mfa_failure(nonce):
    """Count a wrong code against the token; at MFA_TOKEN_MAX_FAILURES the token is spent (log in again)."""
    config = current_app.config
    key = MFA_FAILURES_KEY.format(nonce=nonce)
    pipe = redis_client.client.pipeline()
    pipe.incr(key)
    pipe.expire(key, int(config["MFA_TOKEN_EXPIRES"].total_seconds()))
    failures, _ = pipe.execute()
    if failures >= config["MFA_TOKEN_MAX_FAILURES"]:
        redis_client.client.delete(MFA_NONCE_KEY.format(nonce=nonce))


def _accept_totp(user, code, secret=None):
    step = totp.matching_step(secret or user.mfa_secret, code, last_step=user.mfa_last_step)
    if step is None:
        return False
    return users.advance_mfa_step(user, step)


def _accept_recovery_code(user, code):
    code = totp.normalize_recovery_code(code)
    unused = db.session.scalars(
        sa.select(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    ).all()
    for row in unused:
        if digest_matches(row.code_digest, code):
            # Marked used only if nobody else used it since we read it.
            used = db.session.execute(
                sa.update(RecoveryCode)
                .where(RecoveryCode.id == row.id, RecoveryCode.used_at.is_(None))
                .values(used_at=utcnow())
                .execution_options(synchronize_session=False)
            ).rowcount
            return used == 1
    return False


def _accept_second_factor(user, code):
    return _accept_totp(user, code) or _accept_recovery_code(user, code)


def check_second_factor(user, code):
    """A TOTP code (never the same time step twice) or an unused recovery code; marks what it consumed."""
    return _accept_second_factor(user, code)


def mfa_setup_required(user):
    """The account's role requires MFA (``MFA_REQUIRED_ROLES``) and it has none yet (the portal asks this)."""
    return mfa_setup_pending(user)


def mfa_provisioning_uri(user):
    """The otpauth:// URI of the user's pending secret (the portal shows it again after a reload)."""
    return totp.provisioning_uri(user.mfa_secret, user.email)


def start_mfa_setup(user):
    if user.mfa_enabled:
        raise Conflict("MFA is already enabled; disable it first to change the secret.")
    users.start_mfa(user, totp.new_secret())
    return {"secret": user.mfa_secret, "otpauth_uri": totp.provisioning_uri(user.mfa_secret, user.email)}


def enable_mfa(user, code):
    if user.mfa_enabled:
        raise Conflict("MFA is already enabled.")
    if not user.mfa_secret:
        raise Conflict("Start with POST /auth/mfa/setup.")
    if not _accept_totp(user, code):
        raise Invalid("Invalid authentication code.", errors={"code": ["Invalid or already used code."]})
    users.set_mfa_enabled(user, True)
    codes = totp.new_recovery_codes()
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.add_all(RecoveryCode(user_id=user.id, code_digest=keyed_digest(code)) for code in codes)
    return {"recovery_codes": codes}


def disable_mfa(user, password, code):
    if not user.mfa_enabled:
        raise Conflict("MFA is not enabled.")
    if user.has_any_role(current_app.config.get("MFA_REQUIRED_ROLES") or ()):
        raise Conflict("Your account's role requires MFA; it cannot be disabled.")
    if not verify_password(user.password_hash, password):
        raise Invalid("Wrong password.", errors={"password": ["Wrong password."]})
    if not _accept_second_factor(user, code):
        raise Invalid("Invalid authentication code.", errors={"code": ["Invalid or already used code."]})
    users.set_mfa_enabled(user, False)
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


# --- passwords ----------------------------------------------------------------------------------

def forgot_password(email):
    """Email a 6-digit code when the account exists; the caller answers the same either way."""
    user = users.find_by_email(email)
    if user is None or not user.is_active:
        return
    db.session.execute(
        sa.update(PasswordResetOTP)
        .where(PasswordResetOTP.user_id == user.id, PasswordResetOTP.used_at.is_(None))
        .values(used_at=utcnow())
    )
    otp = random_digits(6)
    ttl = current_app.config["PASSWORD_RESET_OTP_TTL"]
    db.session.add(PasswordResetOTP(user_id=user.id, otp_digest=keyed_digest(otp), expires_at=utcnow() + ttl))
    notifications.queue_email(
        user.email,
        "Your Tutorhub password reset code",
        f"Hello {user.full_name},\n\nYour password reset code is {otp}.\n"
        f"It expires in {int(ttl.total_seconds() // 60)} minutes. If you did not ask for it, ignore this email.\n",
        user_id=user.id,
        kind="password_reset",
    )


def reset_password(email, otp, new_password):
    """Set a new password with the emailed code; None on success.

    A wrong code counts an attempt and returns the refusal instead of raising it: the caller commits the count,
    then raises. Every other refusal is raised (it wrote nothing).
    """
    invalid = Invalid("The code is invalid or has expired.", errors={"otp": ["Invalid or expired code."]})
    user = users.find_by_email(email)
    if user is None:
        raise invalid
    row = db.session.scalar(
        sa.select(PasswordResetOTP)
        .where(PasswordResetOTP.user_id == user.id, PasswordResetOTP.used_at.is_(None))
        .order_by(PasswordResetOTP.id.desc())
        .limit(1)
    )
    max_attempts = current_app.config["PASSWORD_RESET_MAX_ATTEMPTS"]
    if row is None or row.expires_at <= utcnow() or row.attempts >= max_attempts:
        raise invalid
    if not digest_matches(row.otp_digest, otp):
        row.attempts += 1
        return invalid
    row.used_at = utcnow()
    users.set_password(user, new_password, reason="password_reset")
    return None


def change_password(user, current_password, new_password):
    if not verify_password(user.password_hash, current_password):
        raise Invalid("Wrong password.", errors={"current_password": ["Wrong password."]})
    users.set_password(user, new_password)
    return issue_tokens(user)


# --- Socket.IO connections ---------------------------------------------------------------------

def connect_socket(sid, token):
    """(user id, credentials) for the user an access token names, announced as ``socket.connected``;
    ConnectionRefusedError otherwise. The credentials (token id and version) are checked before every event."""
    user, claims = tokens.user_from_access_token(token)
    credentials = {"jti": claims["jti"], "tv": claims.get("tv")}
    tokens.remember_socket(user.id, sid, credentials["jti"], credentials["tv"])
    publish("socket.connected", user_id=user.id, sid=sid)
    return user.id, credentials


def socket_session_valid(user_id, credentials):
    return tokens.socket_session_valid(user_id, credentials)


def disconnect_socket(sid, user_id):
    try:
        tokens.forget_socket(user_id, sid)
    except REDIS_UNAVAILABLE as error:  # the entry expires with the registry's TTL; the disconnect goes on
        log.warning("socket %s of user %s: Redis unavailable, not unlisted: %s", sid, user_id, error)
    publish("socket.disconnected", user_id=user_id, sid=sid)


def sockets_of_ended_sessions(user_id, token_version=None, token_id=None):
    """After ``user.sessions_ended``: mark older token versions dead and return the sids to disconnect."""
    if token_version is not None:
        tokens.mark_sessions_ended(user_id, token_version)
    return tokens.sockets_to_end(user_id, token_version, token_id)
