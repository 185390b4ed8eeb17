"""Auth services leave the commit to the caller's unit of work: a rollback after them leaves nothing behind."""
import pyotp
import pytest
import sqlalchemy as sa

from app.auth import services
from app.auth.models import PasswordResetOTP
from app.common.transactions import unit_of_work
from app.notifications.models import OutboxMessage
from app.users.models import User
from tests.auth.helpers import PASSWORD, reset_code
from tests.factories import DEFAULT_PASSWORD, UserFactory


def _count(db, model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


class _Abandon(Exception):
    """Raised to make a unit of work roll back."""


def test_signup_and_forgot_password_write_nothing_until_the_unit_commits(app, db):
    user = UserFactory(email="kim@example.com")
    with app.test_request_context(), pytest.raises(_Abandon), unit_of_work():
        services.signup("ada@example.com", PASSWORD, "Ada", ["student"], "UTC")
        services.forgot_password(user.email)
        raise _Abandon
    assert db.session.scalar(sa.select(User.id).where(User.email == "ada@example.com")) is None
    assert _count(db, PasswordResetOTP) == 0
    assert _count(db, OutboxMessage) == 0


def test_login_and_mfa_setup_write_nothing_until_the_unit_commits(app, db):
    user = UserFactory()
    with app.test_request_context(), pytest.raises(_Abandon), unit_of_work():
        services.login(user.email, DEFAULT_PASSWORD)
        services.start_mfa_setup(user)
        raise _Abandon
    stored = db.session.get(User, user.id)
    assert stored.last_login_at is None and stored.mfa_secret is None


def test_changes_commit_with_the_unit_of_work(app, db):
    user = UserFactory()
    with app.test_request_context(), unit_of_work():
        secret = services.start_mfa_setup(user)["secret"]
    db.session.rollback()
    assert db.session.get(User, user.id).mfa_secret == secret


def test_a_wrong_reset_code_is_counted_and_refused_after_the_commit(app, db, outbox_dir):
    user = UserFactory(email="kim@example.com")
    with app.test_request_context(), unit_of_work():
        services.forgot_password(user.email)
    with app.test_request_context(), unit_of_work():
        otp = reset_code(outbox_dir, user.email)
        wrong = f"{(int(otp) + 1) % 1_000_000:06d}"
        refusal = services.reset_password(user.email, wrong, "granite-meadow-compass")
    db.session.rollback()
    assert refusal is not None and refusal.code == 422
    assert db.session.scalar(sa.select(PasswordResetOTP.attempts)) == 1


def test_portal_second_factor_saves_what_it_consumed_only_with_the_unit(app, db):
    secret = pyotp.random_base32()
    user = UserFactory(mfa_secret=secret, mfa_enabled=True)
    with app.test_request_context():
        assert services.check_second_factor(user, pyotp.TOTP(secret).now()) is True
        db.session.rollback()
    assert db.session.get(User, user.id).mfa_last_step is None
