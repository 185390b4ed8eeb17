"""Password reset by emailed OTP (always 202, 5 attempts, 10 minutes) and password change."""
from datetime import timedelta

import sqlalchemy as sa

from app.auth.models import PasswordResetOTP
from app.common.time import utcnow
from tests.auth.helpers import bearer, login, reset_code
from tests.conftest import assert_error, read_emails
from tests.factories import DEFAULT_PASSWORD, UserFactory

FORGOT = "/api/v1/auth/password/forgot"
RESET = "/api/v1/auth/password/reset"
CHANGE = "/api/v1/auth/password"
NEW_PASSWORD = "granite-meadow-compass"
EMAIL = "kim@example.com"


def _forgot(client, email=EMAIL):
    response = client.post(FORGOT, json={"email": email})
    assert response.status_code == 202
    assert response.get_json() == {"message": "If the account exists, a reset code has been emailed."}


def _reset(client, otp, email=EMAIL, password=NEW_PASSWORD):
    return client.post(RESET, json={"email": email, "otp": otp, "new_password": password})


def _wrong(otp):
    return f"{(int(otp) + 1) % 1_000_000:06d}"


def test_forgot_and_reset_with_code_from_email(client, auth, outbox_dir):
    user = UserFactory(email=EMAIL)
    old = auth.tokens(user)
    _forgot(client)
    otp = reset_code(outbox_dir, EMAIL)

    response = _reset(client, otp)

    assert response.status_code == 204
    assert login(client, EMAIL, NEW_PASSWORD).status_code == 200
    assert_error(login(client, EMAIL, DEFAULT_PASSWORD), 401)
    # Every session from before the reset is over.
    assert_error(client.get("/api/v1/users/me", headers=bearer(old["access_token"])), 401)
    assert_error(client.post("/api/v1/auth/refresh", headers=bearer(old["refresh_token"])), 401)
    # The code is single use.
    assert_error(_reset(client, otp, password="another-fine-passphrase"), 422)


def test_forgot_unknown_email_answers_the_same_and_sends_nothing(client, outbox_dir):
    _forgot(client, "nobody@example.com")
    assert read_emails(outbox_dir) == []


def test_forgot_inactive_account_sends_nothing(client, outbox_dir):
    UserFactory(email=EMAIL, is_active=False)
    _forgot(client)
    assert read_emails(outbox_dir) == []


def test_forgot_validates_input(client):
    body = assert_error(client.post(FORGOT, json={"email": "not an email"}), 422)
    assert "email" in body["errors"]


def test_a_new_code_replaces_the_old_one(client, outbox_dir):
    UserFactory(email=EMAIL)
    _forgot(client)
    first = reset_code(outbox_dir, EMAIL)
    _forgot(client)
    second = reset_code(outbox_dir, EMAIL)
    if first != second:
        assert_error(_reset(client, first), 422)
    assert _reset(client, second).status_code == 204


def test_five_wrong_codes_lock_the_code(client, outbox_dir, db):
    UserFactory(email=EMAIL)
    _forgot(client)
    otp = reset_code(outbox_dir, EMAIL)
    for _ in range(5):
        body = assert_error(_reset(client, _wrong(otp)), 422)
        assert body["errors"] == {"otp": ["Invalid or expired code."]}
    # Even the right code is refused now.
    assert_error(_reset(client, otp), 422)
    assert db.session.scalar(sa.select(PasswordResetOTP.attempts)) == 5
    assert_error(login(client, EMAIL, NEW_PASSWORD), 401)


def test_expired_code_is_refused(client, outbox_dir, db):
    UserFactory(email=EMAIL)
    _forgot(client)
    otp = reset_code(outbox_dir, EMAIL)
    db.session.execute(sa.update(PasswordResetOTP).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert_error(_reset(client, otp), 422, "expired")


def test_reset_unknown_email_and_bad_input(client):
    assert_error(_reset(client, "123456", email="nobody@example.com"), 422)
    body = assert_error(_reset(client, "12ab56"), 422)
    assert body["errors"]["otp"] == ["The code has 6 digits."]
    body = assert_error(_reset(client, "123456", password="short"), 422)
    assert "new_password" in body["errors"]


def test_change_password(client, auth):
    user = UserFactory(email=EMAIL)
    other_session = auth.tokens(user)
    headers = auth.headers(user)

    response = client.patch(CHANGE, headers=headers,
                            json={"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD})

    assert response.status_code == 200
    fresh = response.get_json()
    assert client.get("/api/v1/users/me", headers=bearer(fresh["access_token"])).status_code == 200
    assert_error(client.get("/api/v1/users/me", headers=bearer(other_session["access_token"])), 401)
    assert login(client, EMAIL, NEW_PASSWORD).status_code == 200


def test_change_password_refusals(client, auth):
    user = UserFactory(email=EMAIL)
    headers = auth.headers(user)
    body = assert_error(client.patch(CHANGE, headers=headers,
                                     json={"current_password": "wrong-password-1", "new_password": NEW_PASSWORD}), 422)
    assert "current_password" in body["errors"]
    body = assert_error(client.patch(CHANGE, headers=headers,
                                     json={"current_password": DEFAULT_PASSWORD, "new_password": EMAIL}), 422)
    assert "new_password" in body["errors"]
    assert_error(client.patch(CHANGE, headers=headers, json={"current_password": DEFAULT_PASSWORD}), 422)
    assert_error(client.patch(CHANGE, json={"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}), 401)
    assert login(client, EMAIL, DEFAULT_PASSWORD).status_code == 200
