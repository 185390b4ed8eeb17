"""MFA: setup, enable with a real TOTP code, two-step login, recovery codes, replay, disable."""
import time
from types import SimpleNamespace

import pyotp
import pytest

from tests.auth.helpers import bearer
from tests.conftest import assert_error
from tests.factories import DEFAULT_PASSWORD, UserFactory

SETUP = "/api/v1/auth/mfa/setup"
ENABLE = "/api/v1/auth/mfa/enable"
DISABLE = "/api/v1/auth/mfa/disable"
VERIFY = "/api/v1/auth/mfa/verify"
LOGIN = "/api/v1/auth/login"


def code_at(secret, steps_from_now=0):
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_from_now)


@pytest.fixture
def mfa_user(client, auth):
    """A user who has enabled MFA with the current code."""
    user = UserFactory(email="mfa@example.com")
    headers = auth.headers(user)
    secret = client.post(SETUP, headers=headers).get_json()["secret"]
    enabling_code = code_at(secret)
    response = client.post(ENABLE, headers=headers, json={"code": enabling_code})
    assert response.status_code == 200, response.get_json()
    return SimpleNamespace(user=user, secret=secret, codes=response.get_json()["recovery_codes"],
                           headers=headers, enabling_code=enabling_code)


def _mfa_token(client):
    response = client.post(LOGIN, json={"email": "mfa@example.com", "password": DEFAULT_PASSWORD})
    assert response.status_code == 200
    body = response.get_json()
    assert body["mfa_required"] is True and "access_token" not in body
    return body["mfa_token"]


def test_setup_returns_secret_and_uri(client, auth):
    user = UserFactory(email="kim@example.com")
    response = client.post(SETUP, headers=auth.headers(user))
    assert response.status_code == 200
    body = response.get_json()
    assert pyotp.parse_uri(body["otpauth_uri"]).secret == body["secret"]
    assert "kim%40example.com" in body["otpauth_uri"] and "issuer=Tutorhub" in body["otpauth_uri"]


def test_enable_returns_ten_recovery_codes(mfa_user, client):
    codes = mfa_user.codes
    headers = mfa_user.headers
    assert len(codes) == len(set(codes)) == 10
    assert client.get("/api/v1/users/me", headers=headers).get_json()["mfa_enabled"] is True


def test_enable_with_wrong_code(client, auth):
    headers = auth.headers(UserFactory())
    secret = client.post(SETUP, headers=headers).get_json()["secret"]
    wrong = f"{(int(code_at(secret)) + 1) % 1_000_000:06d}"
    body = assert_error(client.post(ENABLE, headers=headers, json={"code": wrong}), 422)
    assert "code" in body["errors"]
    assert_error(client.post(ENABLE, headers=headers, json={"code": "12"}), 422)


def test_enable_before_setup_and_twice(client, auth, mfa_user):
    assert_error(client.post(ENABLE, headers=auth.headers(UserFactory()), json={"code": "123456"}), 409)
    secret = mfa_user.secret
    headers = mfa_user.headers
    assert_error(client.post(ENABLE, headers=headers, json={"code": code_at(secret, 1)}), 409)
    assert_error(client.post(SETUP, headers=headers), 409)


def test_mfa_endpoints_need_login(client):
    for url in (SETUP, ENABLE, DISABLE):
        assert_error(client.post(url, json={"code": "123456", "password": "x"}), 401)


def test_login_with_totp(mfa_user, client):
    secret = mfa_user.secret
    mfa_token = _mfa_token(client)
    # The enabling code was already used: the next step's code is the one to send.
    response = client.post(VERIFY, json={"mfa_token": mfa_token, "code": code_at(secret, 1)})
    assert response.status_code == 200, response.get_json()
    tokens = response.get_json()
    assert client.get("/api/v1/users/me", headers=bearer(tokens["access_token"])).status_code == 200
    # The MFA token is single use.
    assert_error(client.post(VERIFY, json={"mfa_token": mfa_token, "code": code_at(secret, 1)}), 401)


def test_totp_code_replay_is_refused(mfa_user, client):
    secret = mfa_user.secret
    # The code that enabled MFA cannot log in.
    assert_error(client.post(VERIFY, json={"mfa_token": _mfa_token(client), "code": mfa_user.enabling_code}), 401)
    code = code_at(secret, 1)
    assert client.post(VERIFY, json={"mfa_token": _mfa_token(client), "code": code}).status_code == 200
    assert_error(client.post(VERIFY, json={"mfa_token": _mfa_token(client), "code": code}), 401, "invalid")


def test_recovery_code_works_once(mfa_user, client):
    codes = mfa_user.codes
    response = client.post(VERIFY, json={"mfa_token": _mfa_token(client), "code": codes[0].upper()})
    assert response.status_code == 200
    assert_error(client.post(VERIFY, json={"mfa_token": _mfa_token(client), "code": codes[0]}), 401)
    assert client.post(VERIFY, json={"mfa_token": _mfa_token(client), "code": codes[1]}).status_code == 200


def test_verify_with_bad_tokens(mfa_user, client):
    secret = mfa_user.secret
    assert_error(client.post(VERIFY, json={"mfa_token": "forged", "code": code_at(secret, 1)}), 401)
    body = assert_error(client.post(VERIFY, json={"mfa_token": "x"}), 422)
    assert "code" in body["errors"]


def test_verify_with_expired_mfa_token(mfa_user, client, app, monkeypatch):
    mfa_token = _mfa_token(client)
    monkeypatch.setitem(app.config, "MFA_TOKEN_EXPIRES", app.config["MFA_TOKEN_EXPIRES"] * 0)
    monkeypatch.setattr(time, "time", lambda real=time.time: real() + 10)
    assert_error(client.post(VERIFY, json={"mfa_token": mfa_token, "code": "123456"}), 401, "expired")


def test_disable_mfa(mfa_user, client):
    secret = mfa_user.secret
    headers = mfa_user.headers
    body = assert_error(client.post(DISABLE, headers=headers,
                                    json={"password": "wrong password!", "code": code_at(secret, 1)}), 422)
    assert "password" in body["errors"]
    body = assert_error(client.post(DISABLE, headers=headers, json={"password": DEFAULT_PASSWORD, "code": "000000"}), 422)
    assert "code" in body["errors"]

    response = client.post(DISABLE, headers=headers, json={"password": DEFAULT_PASSWORD, "code": code_at(secret, 1)})

    assert response.status_code == 204
    login = client.post(LOGIN, json={"email": "mfa@example.com", "password": DEFAULT_PASSWORD}).get_json()
    assert login["mfa_required"] is False and login["access_token"]
    assert_error(client.post(DISABLE, headers=headers, json={"password": DEFAULT_PASSWORD, "code": "123456"}), 409)


def test_disable_with_recovery_code(mfa_user, client):
    codes = mfa_user.codes
    headers = mfa_user.headers
    response = client.post(DISABLE, headers=headers, json={"password": DEFAULT_PASSWORD, "code": codes[3]})
    assert response.status_code == 204
