"""MFA_REQUIRED_ROLES: an account holding such a role and no MFA logs in only to set it up; the API refuses
it (403 saying what to do) until MFA is on."""
import pyotp
import pytest

from tests.auth.helpers import bearer
from tests.conftest import assert_error
from tests.factories import DEFAULT_PASSWORD, UserFactory

LOGIN = "/api/v1/auth/login"


@pytest.fixture(autouse=True)
def admins_need_mfa(app):
    app.config["MFA_REQUIRED_ROLES"] = ("admin", "instructor")
    yield
    app.config["MFA_REQUIRED_ROLES"] = ()


def _login(client, user):
    response = client.post(LOGIN, json={"email": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_admin_without_mfa_gets_a_setup_only_token(client, db):
    admin = UserFactory(roles=["admin"])
    body = _login(client, admin)
    assert body["mfa_setup_required"] is True and body["mfa_required"] is False
    assert "refresh_token" not in body
    headers = bearer(body["access_token"])
    body = assert_error(client.get("/api/v1/admin/users", headers=headers), 403, "mfa/setup")
    assert body["errors"] == {"mfa": ["MFA setup required."]}
    assert_error(client.get("/api/v1/notifications", headers=headers), 403, "multi-factor")
    assert client.get("/api/v1/users/me", headers=headers).status_code == 200
    secret = client.post("/api/v1/auth/mfa/setup", headers=headers).get_json()["secret"]
    enabled = client.post("/api/v1/auth/mfa/enable", headers=headers, json={"code": pyotp.TOTP(secret).now()})
    assert enabled.status_code == 200, enabled.get_json()
    # the setup token stays a setup token; a new login goes through MFA and gets full tokens
    assert_error(client.get("/api/v1/admin/users", headers=headers), 403)
    assert _login(client, admin)["mfa_required"] is True


def test_full_token_of_an_account_that_became_admin_is_refused(client, db, auth):
    user = UserFactory(roles=["student"])
    headers = auth.headers(user)
    assert client.get("/api/v1/users/me", headers=headers).status_code == 200
    user.roles = ["student", "instructor"]
    db.session.commit()
    assert_error(client.get("/api/v1/notifications", headers=headers), 403, "multi-factor")
    refresh = auth.tokens(user)["refresh_token"]
    assert_error(client.post("/api/v1/auth/refresh", headers=bearer(refresh)), 403)


def test_other_roles_and_admins_with_mfa_are_unaffected(client, db):
    student = UserFactory(roles=["student"])
    body = _login(client, student)
    assert body["mfa_setup_required"] is False and body["refresh_token"]
    assert client.get("/api/v1/notifications", headers=bearer(body["access_token"])).status_code == 200


def test_required_role_cannot_disable_mfa(client, db, auth):
    admin = UserFactory(roles=["admin"], mfa_enabled=True, mfa_secret=pyotp.random_base32())
    response = client.post("/api/v1/auth/mfa/disable", headers=auth.headers(admin),
                           json={"password": DEFAULT_PASSWORD, "code": pyotp.TOTP(admin.mfa_secret).now()})
    assert_error(response, 409, "requires MFA")


def test_setup_token_cannot_open_a_socket(app, client, db):
    from flask_socketio import ConnectionRefusedError

    from app.auth.tokens import user_from_access_token

    token = _login(client, UserFactory(roles=["admin"]))["access_token"]
    with app.app_context(), pytest.raises(ConnectionRefusedError):
        user_from_access_token(token)
