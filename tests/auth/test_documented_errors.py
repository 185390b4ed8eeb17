"""Every error an auth endpoint answers is one its operation documents (found by tests/contract)."""
import pyotp

from tests.auth.helpers import PASSWORD, bearer, login
from tests.contract import assert_documented
from tests.factories import DEFAULT_PASSWORD, UserFactory

AUTH = "/api/v1/auth"


def test_login_with_bad_credentials_is_a_documented_401(client):
    UserFactory(email="kim@example.com")
    response = login(client, "kim@example.com", PASSWORD)
    assert response.status_code == 401
    assert_documented(client, response, "POST", f"{AUTH}/login")


def test_mfa_verify_with_a_bad_token_is_a_documented_401(client):
    response = client.post(f"{AUTH}/mfa/verify", json={"mfa_token": "not-a-token", "code": "123456"})
    assert response.status_code == 401
    assert_documented(client, response, "POST", f"{AUTH}/mfa/verify")


def test_resend_when_confirmed_is_a_documented_409(client, auth):
    response = client.post(f"{AUTH}/confirm-email/resend", headers=auth.headers(UserFactory()))
    assert response.status_code == 409
    assert_documented(client, response, "POST", f"{AUTH}/confirm-email/resend")


def test_mfa_state_conflicts_are_documented_409s(client, auth):
    headers = auth.headers(UserFactory())
    disable = client.post(f"{AUTH}/mfa/disable", headers=headers, json={"password": DEFAULT_PASSWORD, "code": "123456"})
    assert disable.status_code == 409
    assert_documented(client, disable, "POST", f"{AUTH}/mfa/disable")
    enable = client.post(f"{AUTH}/mfa/enable", headers=headers, json={"code": "123456"})
    assert enable.status_code == 409
    assert_documented(client, enable, "POST", f"{AUTH}/mfa/enable")
    secret = client.post(f"{AUTH}/mfa/setup", headers=headers).get_json()["secret"]
    assert client.post(f"{AUTH}/mfa/enable", headers=headers, json={"code": pyotp.TOTP(secret).now()}).status_code == 200
    setup = client.post(f"{AUTH}/mfa/setup", headers=headers)
    assert setup.status_code == 409
    assert_documented(client, setup, "POST", f"{AUTH}/mfa/setup")


def test_refresh_with_a_spent_token_is_a_documented_401(client):
    UserFactory(email="kim@example.com")
    refresh_token = login(client, "kim@example.com", DEFAULT_PASSWORD).get_json()["refresh_token"]
    assert client.post(f"{AUTH}/refresh", headers=bearer(refresh_token)).status_code == 200
    response = client.post(f"{AUTH}/refresh", headers=bearer(refresh_token))
    assert response.status_code == 401
    assert_documented(client, response, "POST", f"{AUTH}/refresh")
