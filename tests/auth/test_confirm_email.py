"""Email confirmation: the signed token from the real .eml file; expired and forged tokens."""
from itsdangerous import URLSafeTimedSerializer

from tests.auth.helpers import bearer, confirmation_token, login, signup_payload
from tests.conftest import assert_error, read_emails

URL = "/api/v1/auth/confirm-email"
EMAIL = "ada.lovelace@example.com"


def _signup(client):
    response = client.post("/api/v1/auth/signup", json=signup_payload())
    assert response.status_code == 201
    return response.get_json()


def test_confirm_with_token_from_email(client, outbox_dir):
    _signup(client)
    token = confirmation_token(outbox_dir, EMAIL)

    response = client.post(URL, json={"token": token})

    assert response.status_code == 200
    assert response.get_json()["email_confirmed"] is True
    # Confirming twice is harmless.
    assert client.post(URL, json={"token": token}).status_code == 200


def test_unconfirmed_user_can_log_in(client):
    _signup(client)
    response = login(client, EMAIL)
    assert response.status_code == 200
    assert response.get_json()["user"]["email_confirmed"] is False


def test_expired_token_is_refused(client, app, outbox_dir, monkeypatch):
    _signup(client)
    token = confirmation_token(outbox_dir, EMAIL)
    monkeypatch.setattr(
        "itsdangerous.timed.TimestampSigner.get_timestamp", lambda self: int(__import__("time").time()) + 4 * 86400
    )
    assert_error(client.post(URL, json={"token": token}), 422, "expired")


def test_forged_token_is_refused(client, app):
    user = _signup(client)
    forged = URLSafeTimedSerializer("not-the-secret", salt="email-confirm").dumps({"uid": user["id"], "email": EMAIL})
    assert_error(client.post(URL, json={"token": forged}), 422, "not valid")
    assert_error(client.post(URL, json={"token": "garbage"}), 422, "not valid")


def test_token_for_another_purpose_is_refused(client, app):
    user = _signup(client)
    with app.test_request_context():
        other = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="mfa-login").dumps({"uid": user["id"], "n": "x"})
    assert_error(client.post(URL, json={"token": other}), 422)


def test_confirm_requires_token(client):
    body = assert_error(client.post(URL, json={}), 422)
    assert "token" in body["errors"]


def test_resend_confirmation(client, outbox_dir):
    _signup(client)
    tokens = login(client, EMAIL).get_json()
    before = len(read_emails(outbox_dir))

    response = client.post(f"{URL}/resend", headers=bearer(tokens["access_token"]))

    assert response.status_code == 202
    assert len(read_emails(outbox_dir)) == before + 1
    assert client.post(URL, json={"token": confirmation_token(outbox_dir, EMAIL)}).status_code == 200
    assert_error(client.post(f"{URL}/resend", headers=bearer(tokens["access_token"])), 409)


def test_resend_confirmation_needs_login(client):
    assert_error(client.post(f"{URL}/resend"), 401)
