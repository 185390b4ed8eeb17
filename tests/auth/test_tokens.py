"""Refresh rotation, logout, and every way a JWT can be refused (all 401 with the standard body)."""
from datetime import timedelta

from flask_jwt_extended import create_access_token

from tests.auth.helpers import bearer
from tests.conftest import assert_error
from tests.factories import UserFactory

ME = "/api/v1/users/me"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"


def test_refresh_rotates_and_reuse_is_refused(client, auth):
    user = UserFactory()
    first = auth.tokens(user)

    response = client.post(REFRESH, headers=bearer(first["refresh_token"]))

    assert response.status_code == 200
    second = response.get_json()
    assert second["refresh_token"] != first["refresh_token"]
    assert client.get(ME, headers=bearer(second["access_token"])).status_code == 200
    assert_error(client.post(REFRESH, headers=bearer(first["refresh_token"])), 401, "revoked")
    assert client.post(REFRESH, headers=bearer(second["refresh_token"])).status_code == 200


def test_refresh_needs_a_refresh_token(client, auth):
    tokens = auth.tokens(UserFactory())
    assert_error(client.post(REFRESH, headers=bearer(tokens["access_token"])), 401)
    assert_error(client.post(REFRESH), 401)


def test_logout_revokes_access_and_refresh(client, auth):
    tokens = auth.tokens(UserFactory())

    response = client.post(LOGOUT, headers=bearer(tokens["access_token"]))

    assert response.status_code == 204
    assert_error(client.get(ME, headers=bearer(tokens["access_token"])), 401, "revoked")
    assert_error(client.post(REFRESH, headers=bearer(tokens["refresh_token"])), 401, "revoked")


def test_logout_leaves_other_sessions_alone(client, auth):
    user = UserFactory()
    phone, laptop = auth.tokens(user), auth.tokens(user)
    client.post(LOGOUT, headers=bearer(phone["access_token"]))
    assert client.get(ME, headers=bearer(laptop["access_token"])).status_code == 200


def test_logout_needs_login(client):
    assert_error(client.post(LOGOUT), 401)


def test_missing_token(client):
    body = assert_error(client.get(ME), 401)
    assert "Authentication required" in body["message"]


def test_expired_token(client, app):
    user = UserFactory()
    with app.test_request_context():
        token = create_access_token(identity=user, additional_claims={"tv": user.token_version},
                                    expires_delta=timedelta(seconds=-1))
    assert_error(client.get(ME, headers=bearer(token)), 401, "expired")


def test_refresh_token_used_as_access_token(client, auth):
    tokens = auth.tokens(UserFactory())
    assert_error(client.get(ME, headers=bearer(tokens["refresh_token"])), 401)


def test_garbage_and_wrongly_signed_tokens(client, app):
    assert_error(client.get(ME, headers=bearer("not.a.jwt")), 401, "invalid token")
    assert_error(client.get(ME, headers={"Authorization": "Basic abc"}), 401)
    user = UserFactory()
    with app.test_request_context():
        app.config["JWT_SECRET_KEY"], saved = "another-secret-another-secret-12", app.config["JWT_SECRET_KEY"]
        try:
            forged = create_access_token(identity=user, additional_claims={"tv": user.token_version})
        finally:
            app.config["JWT_SECRET_KEY"] = saved
    assert_error(client.get(ME, headers=bearer(forged)), 401, "invalid token")


def test_token_of_deleted_user(client, auth, db):
    user = UserFactory()
    headers = auth.headers(user)
    db.session.delete(user)
    db.session.commit()
    assert_error(client.get(ME, headers=headers), 401, "no longer valid")


def test_token_from_older_token_version(client, auth, db):
    user = UserFactory()
    headers = auth.headers(user)
    user.token_version += 1
    db.session.commit()
    assert_error(client.get(ME, headers=headers), 401, "no longer valid")
