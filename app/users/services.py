"""Profiles, avatars and admin management of users."""
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from app.common import storage
from app.common.errors import Conflict, Invalid, NotFound
from app.common.events import publish
from app.common.security import hash_password
from app.common.time import utcnow
from app.extensions import db
from app.users.models import User, UserAdminEvent, UserRole
from app.users.passwords import password_problems

AVATAR_TYPES = {"image/png", "image/jpeg", "image/webp"}


def normalize_email(email):
    return email.strip().lower()


def get_user(user_id):
    user = db.session.get(User, user_id)
    if user is None or not user.is_active:
        raise NotFound("No such user.")
    return user


def find_by_email(email):
    return db.session.scalar(sa.select(User).where(User.email == normalize_email(email)))


def create_user(email, password, full_name, roles, timezone="UTC", password_hash=None, **profile):
    """A new account; ``password_hash`` (an argon2 hash of ``password`` made once) spares the demo seed one
    hash per account."""
    email = normalize_email(email)
    if find_by_email(email) is not None:
        raise Conflict("An account with this email already exists.", errors={"email": ["Already registered."]})
    user = User(email=email, password_hash=password_hash or hash_password(password), full_name=full_name.strip(),
                timezone=timezone, **profile)
    user.roles = roles
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:
        # Another request registered the same email between our check and our insert (the unit of work
        # rolls the transaction back).
        raise Conflict("An account with this email already exists.", errors={"email": ["Already registered."]}) from None
    return user


def update_profile(user, changes):
    """Apply a partial profile update; a new name is announced as ``user.renamed``."""
    old_name = user.full_name
    for field, value in changes.items():
        setattr(user, field, value.strip() if field == "full_name" else value)
    if user.full_name != old_name:
        publish("user.renamed", user_id=user.id, full_name=user.full_name)
    return user


def set_avatar(user, file_storage, max_bytes):
    data, content_type = storage.read_upload(file_storage, max_bytes, AVATAR_TYPES)
    stored = storage.save_bytes(data, content_type, prefix="avatar")
    old_key = user.avatar_key
    user.avatar_key, user.avatar_content_type = stored.key, stored.content_type
    if old_key:
        publish("user.avatar_replaced", user_id=user.id, old_key=old_key)
    return user


def admin_user_query(q=None, role=None, is_active=None):
    stmt = sa.select(User).order_by(User.id)
    if q:
        pattern = f"%{q.lower()}%"
        stmt = stmt.where(sa.or_(User.email.like(pattern), sa.func.lower(User.full_name).like(pattern)))
    if role:
        stmt = stmt.where(User.id.in_(sa.select(UserRole.user_id).where(UserRole.role == role)))
    if is_active is not None:
        stmt = stmt.where(User.is_active == is_active)
    return stmt


def admin_update_user(admin, user_id, changes):
    """Change roles and/or the active flag; each effective change writes one audit row (no-ops write none)."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    if user.id == admin.id and (changes.get("is_active") is False or
                                ("roles" in changes and "admin" not in changes["roles"])):
        raise Invalid("Admins cannot deactivate themselves or drop their own admin role.")
    if "roles" in changes and set(changes["roles"]) != set(user.roles):
        before = user.roles
        user.roles = changes["roles"]
        _audit(admin, user, "roles", {"before": before, "after": user.roles})
    if "is_active" in changes and changes["is_active"] != user.is_active:
        user.is_active = changes["is_active"]
        if not user.is_active:
            end_sessions(user, "deactivated")
        _audit(admin, user, "reactivate" if user.is_active else "deactivate", {})
    return user


def _audit(admin, user, action, detail):
    db.session.add(UserAdminEvent(user_id=user.id, admin_id=admin.id, action=action, detail=detail, at=utcnow()))


def admin_events(user_id):
    """The audit trail of one user, oldest first."""
    if db.session.get(User, user_id) is None:
        raise NotFound("No such user.")
    return db.session.scalars(
        sa.select(UserAdminEvent).where(UserAdminEvent.user_id == user_id).order_by(UserAdminEvent.id)
    ).all()


def make_admin(email):
    user = find_by_email(email)
    if user is None:
        raise NotFound(f"No user with email {email}.")
    user.roles = set(user.roles) | {"admin"}
    return user


# --- credentials: the users table's sign-in columns, written for the auth domain ----------------------------

def confirm_email(user):
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()


def record_login(user):
    user.last_login_at = utcnow()


def end_sessions(user, reason):
    """End every session of the user: tokens issued before stop working (``token_version``) and, once committed,
    ``user.sessions_ended`` has its open sockets disconnected."""
    user.token_version += 1
    publish("user.sessions_ended", user_id=user.id, reason=reason, token_version=user.token_version, token_id=None)


def set_password(user, new_password, reason="password_changed"):
    """Store a new password (checked against the password rules) and end every session issued before it."""
    problems = password_problems(new_password, user.email)
    if problems:
        raise Invalid("The new password is not acceptable.", errors={"new_password": problems})
    user.password_hash = hash_password(new_password)
    end_sessions(user, reason)


def upgrade_password_hash(user, password):
    """Re-hash an accepted password with the configured argon2 parameters (sessions are kept)."""
    user.password_hash = hash_password(password)


def start_mfa(user, secret):
    """A new TOTP secret, not yet enabled."""
    user.mfa_secret = secret
    user.mfa_last_step = None


def set_mfa_enabled(user, enabled):
    user.mfa_enabled = enabled
    if not enabled:
        user.mfa_secret = None
        user.mfa_last_step = None


def advance_mfa_step(user, step):
    """Record the TOTP time step just used, only if it is later than the last one (compare-and-set: of two
    requests racing with one code, one wins). True when this call moved it."""
    moved = db.session.execute(
        sa.update(User)
        .where(User.id == user.id, sa.or_(User.mfa_last_step.is_(None), User.mfa_last_step < step))
        .values(mfa_last_step=step)
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved != 1:
        return False
    set_committed_value(user, "mfa_last_step", step)
    return True
