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


# --- limits per mfa_token and per account; a token dies after MFA_TOKEN_MAX_FAILURES wrong codes ---------



def _verify(client, token, code, address):
    return client.post(VERIFY, json={"mfa_token": token, "code": code}, environ_base={"REMOTE_ADDR": address})


def test_sixty_wrong_codes_on_one_token_from_six_addresses_are_stopped(client, mfa_user):
    """The reported reproduction: 10 wrong codes from each of 6 addresses, all on one mfa_token."""
    token = _mfa_token(client)
    statuses = [_verify(client, token, f"{guess:06d}", f"10.1.0.{guess % 6}").status_code for guess in range(60)]
    assert 429 in statuses
    assert statuses.count(401) <= 6


def test_a_token_dies_after_the_configured_wrong_codes(client, app, monkeypatch, mfa_user):
    monkeypatch.setitem(app.config, "MFA_TOKEN_MAX_FAILURES", 3)
    monkeypatch.setitem(app.config, "RATELIMIT_MFA_TOKEN", "100 per minute")
    token = _mfa_token(client)
    for guess in range(3):
        assert_error(_verify(client, token, f"00000{guess}", f"10.2.0.{guess}"), 401, "invalid authentication code")
    # Even the right code is refused now: the attacker's token is spent and a real user logs in again.
    assert_error(_verify(client, token, code_at(mfa_user.secret, 1), "10.2.0.9"), 401, "log in again")
    fresh = _mfa_token(client)
    response = _verify(client, fresh, code_at(mfa_user.secret, 1), "10.2.0.9")
    assert response.status_code == 200, response.get_json()
    assert "access_token" in response.get_json()


def test_the_per_token_limit_answers_429_with_retry_after(client, app, monkeypatch, mfa_user):
    monkeypatch.setitem(app.config, "RATELIMIT_MFA_TOKEN", "2 per minute")
    token = _mfa_token(client)
    for index in range(2):
        assert _verify(client, token, "000000", f"10.3.0.{index}").status_code == 401
    limited = _verify(client, token, "000000", "10.3.0.7")
    assert_error(limited, 429, "too many requests")
    assert 0 < int(limited.headers["Retry-After"]) <= 60


def test_the_per_account_limit_spans_tokens_and_addresses(client, app, monkeypatch, mfa_user):
    monkeypatch.setitem(app.config, "RATELIMIT_MFA_ACCOUNT", "4 per hour")
    statuses = []
    for index in range(5):
        token = _mfa_token(client)  # a fresh token each time: the per-token limits never trip
        statuses.append(_verify(client, token, "000000", f"10.4.0.{index}").status_code)
    assert statuses == [401, 401, 401, 401, 429]


def test_a_forged_token_is_limited_per_address_as_before(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_MFA", "2 per minute")
    for _ in range(2):
        assert_error(_verify(client, "forged", "123456", "10.5.0.1"), 401)
    assert_error(_verify(client, "forged", "123456", "10.5.0.1"), 429)
