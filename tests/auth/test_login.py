"""POST /auth/login: tokens for good credentials, one vague answer for every bad one."""
from tests.auth.helpers import PASSWORD, login
from tests.conftest import assert_error
from tests.factories import DEFAULT_PASSWORD, UserFactory


def test_login_returns_tokens_and_user(client):
    user = UserFactory(email="kim@example.com")

    response = login(client, "KIM@example.com", DEFAULT_PASSWORD)

    assert response.status_code == 200
    body = response.get_json()
    assert body["token_type"] == "Bearer"
    assert body["access_token"] and body["refresh_token"]
    assert body["user"]["id"] == user.id
    assert body["mfa_required"] is False
    me = client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.get_json()["email"] == "kim@example.com"


def test_wrong_password_and_unknown_email_answer_alike(client):
    UserFactory(email="kim@example.com")
    wrong = assert_error(login(client, "kim@example.com", PASSWORD), 401)
    unknown = assert_error(login(client, "nobody@example.com", PASSWORD), 401)
    assert wrong["message"] == unknown["message"] == "Invalid email or password."


def test_inactive_user_cannot_log_in(client):
    UserFactory(email="kim@example.com", is_active=False)
    assert_error(login(client, "kim@example.com", DEFAULT_PASSWORD), 401)


def test_login_validates_input(client):
    body = assert_error(client.post("/api/v1/auth/login", json={"email": "nope", "extra": 1}), 422)
    assert set(body["errors"]) == {"email", "password", "extra"}


def test_login_records_last_login(client, db):
    user = UserFactory(email="kim@example.com")
    assert user.last_login_at is None
    login(client, "kim@example.com", DEFAULT_PASSWORD)
    db.session.refresh(user)
    assert user.last_login_at is not None
