"""Check-then-act races in auth: each secret (TOTP step, recovery code, refresh token, email) wins once."""
import time

import pyotp
import pytest
import sqlalchemy as sa
from flask_jwt_extended import decode_token

from app.auth import services
from app.auth.models import RecoveryCode
from app.common.errors import Conflict, Unauthorized
from app.common.security import keyed_digest
from app.common.time import utcnow
from app.users import services as users
from app.users.models import User
from tests.factories import UserFactory


@pytest.fixture
def mfa_user(db):
    secret = pyotp.random_base32()
    user = UserFactory(mfa_secret=secret, mfa_enabled=True)
    db.session.add(RecoveryCode(user_id=user.id, code_digest=keyed_digest("abcde-fghjk")))
    db.session.commit()
    return user, secret


def _concurrent_write(db, stmt):
    """What a concurrent request commits while this one still holds its (now stale) objects."""
    with db.engine.begin() as connection:
        connection.execute(stmt)


def test_totp_step_used_concurrently_is_refused(app, db, mfa_user):
    user, secret = mfa_user
    code = pyotp.TOTP(secret).now()
    step = int(time.time() // 30)
    with app.test_request_context():
        token = services._mfa_token_for(user)
        _concurrent_write(db, sa.update(User).where(User.id == user.id).values(mfa_last_step=step + 1))
        with pytest.raises(Unauthorized):
            services.verify_mfa_login(token, code)


def test_recovery_code_used_concurrently_is_refused(app, db, mfa_user, monkeypatch):
    user, _secret = mfa_user
    real_digest_matches = services.digest_matches

    def matches_while_another_request_uses_it(digest, value):
        # This request has read the code as unused; the other one marks it used before we do.
        _concurrent_write(db, sa.update(RecoveryCode).values(used_at=utcnow()))
        return real_digest_matches(digest, value)

    monkeypatch.setattr(services, "digest_matches", matches_while_another_request_uses_it)
    with app.test_request_context():
        token = services._mfa_token_for(user)
        with pytest.raises(Unauthorized):
            services.verify_mfa_login(token, "abcde-fghjk")


def test_refresh_token_rotated_twice_concurrently_wins_once(app, db):
    user = UserFactory()
    with app.test_request_context():
        claims = decode_token(services.issue_tokens(user)["refresh_token"])
        services.rotate_refresh(user, claims)
        with pytest.raises(Unauthorized):
            services.rotate_refresh(user, claims)


def test_duplicate_email_inserted_concurrently_is_a_conflict(app, db, monkeypatch):
    UserFactory(email="kim@example.com")
    monkeypatch.setattr(users, "find_by_email", lambda email: None)  # the other request has not committed yet
    with app.test_request_context(), pytest.raises(Conflict):
        users.create_user("kim@example.com", "granite-meadow-compass", "Kim", ["student"])
    db.session.rollback()
