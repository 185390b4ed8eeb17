"""POST /auth/signup: account creation, password policy, roles, uniqueness, strict input."""
import pytest

from app.extensions import db
from app.users.models import User
from tests.auth.helpers import PASSWORD, last_email_to, signup_payload
from tests.conftest import assert_error, email_text

URL = "/api/v1/auth/signup"


def test_signup_creates_account_and_sends_confirmation(client, outbox_dir):
    response = client.post(URL, json=signup_payload(roles=["tutor", "student"]))

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["email"] == "ada.lovelace@example.com"
    assert body["roles"] == ["student", "tutor"]
    assert body["timezone"] == "Europe/London"
    assert body["email_confirmed"] is False
    assert body["mfa_enabled"] is False
    assert "password" not in body and "password_hash" not in body
    user = db.session.get(User, body["id"])
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    message = last_email_to(outbox_dir, "ada.lovelace@example.com")
    assert message["Subject"] == "Confirm your Tutorhub email"
    assert "confirm-email?token=" in email_text(message)


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short-pw1", "at least 10 characters"),
        ("ada.lovelace@example.com", "must not be your email"),
        ("password123", "too common"),
        ("aaaaaaaaaaaa", "too common"),
    ],
)
def test_signup_password_policy(client, password, reason):
    body = assert_error(client.post(URL, json=signup_payload(email="ada.lovelace@example.com", password=password)), 422)
    assert any(reason in problem for problem in body["errors"]["password"]), body


def test_signup_password_equal_to_email_in_other_case_is_refused(client):
    body = assert_error(client.post(URL, json=signup_payload(password="ADA.LOVELACE@EXAMPLE.COM")), 422)
    assert "password" in body["errors"]


@pytest.mark.parametrize("roles", [["admin"], ["student", "admin"], ["wizard"], []])
def test_signup_refuses_admin_unknown_and_empty_roles(client, roles):
    body = assert_error(client.post(URL, json=signup_payload(roles=roles)), 422)
    assert "roles" in body["errors"]
    assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 0


def test_signup_refuses_unknown_fields(client):
    body = assert_error(client.post(URL, json=signup_payload(is_admin=True)), 422)
    assert "is_admin" in body["errors"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("email", "not-an-email"), ("timezone", "Mars/Olympus"), ("full_name", ""), ("timezone", None)],
)
def test_signup_validates_fields(client, field, value):
    body = assert_error(client.post(URL, json=signup_payload(**{field: value})), 422)
    assert field in body["errors"]


def test_signup_requires_fields(client):
    body = assert_error(client.post(URL, json={}), 422)
    assert set(body["errors"]) == {"email", "password", "full_name", "roles", "timezone"}


def test_signup_duplicate_email_is_case_insensitive(client):
    assert client.post(URL, json=signup_payload(email="ada@example.com")).status_code == 201
    body = assert_error(client.post(URL, json=signup_payload(email="  ADA@Example.COM ".strip())), 409)
    assert body["errors"] == {"email": ["Already registered."]}


def test_signup_rejects_non_json_body(client):
    assert_error(client.post(URL, data="email=x", content_type="application/x-www-form-urlencoded"), 422)
