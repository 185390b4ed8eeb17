"""Rate limits on login, MFA verify, forgot and reset: 429, the standard body and Retry-After."""
import pytest

from tests.conftest import assert_error
from tests.factories import DEFAULT_PASSWORD, UserFactory


def _assert_limited(response):
    body = assert_error(response, 429, "too many requests")
    retry_after = int(response.headers["Retry-After"])
    assert 0 < retry_after <= 60
    return body


@pytest.mark.parametrize(
    ("config_key", "url", "payload"),
    [
        ("RATELIMIT_LOGIN", "/api/v1/auth/login", {"email": "kim@example.com", "password": "wrong-password-1"}),
        ("RATELIMIT_MFA", "/api/v1/auth/mfa/verify", {"mfa_token": "forged", "code": "123456"}),
        ("RATELIMIT_FORGOT", "/api/v1/auth/password/forgot", {"email": "kim@example.com"}),
        ("RATELIMIT_RESET", "/api/v1/auth/password/reset",
         {"email": "kim@example.com", "otp": "123456", "new_password": "granite-meadow-compass"}),
    ],
)
def test_endpoint_is_rate_limited(client, app, monkeypatch, config_key, url, payload):
    UserFactory(email="kim@example.com")
    monkeypatch.setitem(app.config, config_key, "3 per minute")
    for _ in range(3):
        assert client.post(url, json=payload).status_code != 429
    _assert_limited(client.post(url, json=payload))


def test_the_login_limit_is_per_address_not_per_account(client, app, monkeypatch):
    """An attacker rotating addresses cannot use the limit to lock the account's owner out (see test_lockout)."""
    UserFactory(email="kim@example.com")
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN", "3 per minute")
    payload = {"email": "kim@example.com", "password": "wrong-password-1"}
    for _ in range(3):
        client.post("/api/v1/auth/login", json=payload, environ_base={"REMOTE_ADDR": "10.0.0.1"})
    _assert_limited(client.post("/api/v1/auth/login", json=payload, environ_base={"REMOTE_ADDR": "10.0.0.1"}))
    assert_error(client.post("/api/v1/auth/login", json=payload, environ_base={"REMOTE_ADDR": "10.0.0.2"}), 401)
    owner = client.post("/api/v1/auth/login", json={"email": "kim@example.com", "password": DEFAULT_PASSWORD},
                        environ_base={"REMOTE_ADDR": "10.0.0.99"})
    assert owner.status_code == 200


def test_default_login_limits_stop_brute_force(client):
    """One address guessing one account: the lockout (5 failures) answers 429 before the per-address limit."""
    UserFactory(email="kim@example.com")
    statuses = [client.post("/api/v1/auth/login", json={"email": "kim@example.com", "password": f"guess-{i:06d}"}).status_code
                for i in range(11)]
    assert statuses[:5] == [401] * 5
    assert set(statuses[5:]) == {429}
