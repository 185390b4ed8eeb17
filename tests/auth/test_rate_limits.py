"""Rate limits on login, MFA verify, forgot and reset: 429, the standard body and Retry-After."""
import pytest

from tests.conftest import assert_error
from tests.factories import UserFactory


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


def test_login_limit_follows_the_account_across_addresses(client, app, monkeypatch):
    UserFactory(email="kim@example.com")
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN", "3 per minute")
    payload = {"email": "kim@example.com", "password": "wrong-password-1"}
    for index in range(3):
        client.post("/api/v1/auth/login", json=payload, environ_base={"REMOTE_ADDR": f"10.0.0.{index}"})
    _assert_limited(client.post("/api/v1/auth/login", json=payload, environ_base={"REMOTE_ADDR": "10.0.0.99"}))
    # Another account from a fresh address is not affected.
    other = client.post("/api/v1/auth/login", json={"email": "lee@example.com", "password": "wrong-password-1"},
                        environ_base={"REMOTE_ADDR": "10.0.0.98"})
    assert_error(other, 401)


def test_default_login_limit_stops_brute_force(client):
    UserFactory(email="kim@example.com")
    statuses = [client.post("/api/v1/auth/login", json={"email": "kim@example.com", "password": f"guess-{i:06d}"}).status_code
                for i in range(11)]
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429
