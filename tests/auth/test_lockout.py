"""Failed-login lockouts: per address and account, a slowdown for new addresses when an account is under attack,
and never a lock that keeps the owner out (app/auth/lockout.py)."""
from tests.auth.helpers import login
from tests.conftest import assert_error
from tests.factories import DEFAULT_PASSWORD, UserFactory

URL = "/api/v1/auth/login"


def _login(client, email, password, address):
    return client.post(URL, json={"email": email, "password": password}, environ_base={"REMOTE_ADDR": address})


def _locked(response, max_retry_after):
    body = assert_error(response, 429, "too many requests")
    assert 0 < int(response.headers["Retry-After"]) <= max_retry_after
    return body


def test_failures_lock_one_address_out_of_one_account(client, app):
    admin = UserFactory(email="admin@example.com", roles=["admin"])
    for _ in range(5):
        assert_error(_login(client, admin.email, "wrong-password-1", "10.8.0.1"), 401)
    # Locked for the rest of the window, even with the right password...
    _locked(_login(client, admin.email, DEFAULT_PASSWORD, "10.8.0.1"), app.config["LOGIN_FAILURE_WINDOW"])
    # ...but only that address: the owner elsewhere, and other accounts from that address, are not affected.
    assert _login(client, admin.email, DEFAULT_PASSWORD, "10.8.0.2").status_code == 200
    other = UserFactory(email="other@example.com")
    assert _login(client, other.email, DEFAULT_PASSWORD, "10.8.0.1").status_code == 200


def test_an_attack_from_many_addresses_never_locks_the_owner_out(client, app, monkeypatch):
    """The reported risk: failures from anywhere must not lock an admin out of the account."""
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN", "1000 per minute")
    admin = UserFactory(email="admin@example.com", roles=["admin"])
    assert _login(client, admin.email, DEFAULT_PASSWORD, "192.0.2.10").status_code == 200  # the owner's address
    for index in range(60):
        _login(client, admin.email, f"guess-{index:04d}", f"10.9.{index // 5}.{index % 5}")

    # The owner's known address signs in at once, as often as needed.
    for _ in range(3):
        assert _login(client, admin.email, DEFAULT_PASSWORD, "192.0.2.10").status_code == 200
    # A new address gets one try per LOGIN_SLOWDOWN_SECONDS while the account is under attack: slowed, not shut.
    assert_error(_login(client, admin.email, "typo-password-1", "198.51.100.7"), 401)
    _locked(_login(client, admin.email, DEFAULT_PASSWORD, "198.51.100.7"), app.config["LOGIN_SLOWDOWN_SECONDS"])
    assert _login(client, admin.email, DEFAULT_PASSWORD, "198.51.100.8").status_code == 200


def test_below_the_account_threshold_new_addresses_are_not_slowed(client, app):
    user = UserFactory(email="kim@example.com")
    for index in range(app.config["LOGIN_ACCOUNT_SLOWDOWN_FAILURES"] - 1):
        _login(client, user.email, "wrong-password-1", f"10.10.0.{index}")
    assert_error(_login(client, user.email, "wrong-password-1", "10.10.1.1"), 401)
    assert _login(client, user.email, DEFAULT_PASSWORD, "10.10.1.1").status_code == 200


def test_a_success_clears_the_address_failures(client):
    user = UserFactory(email="kim@example.com")
    for _ in range(4):
        _login(client, user.email, "wrong-password-1", "10.11.0.1")
    assert _login(client, user.email, DEFAULT_PASSWORD, "10.11.0.1").status_code == 200
    for _ in range(4):
        assert_error(_login(client, user.email, "wrong-password-1", "10.11.0.1"), 401)


def test_an_unknown_account_is_locked_the_same_way(client):
    """No difference between a missing account and a real one (no account enumeration)."""
    for _ in range(5):
        assert_error(_login(client, "nobody@example.com", "wrong-password-1", "10.12.0.1"), 401)
    _locked(_login(client, "nobody@example.com", "wrong-password-1", "10.12.0.1"), 900)


def test_thresholds_are_configurable(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_LOCKOUT_FAILURES", 2)
    monkeypatch.setitem(app.config, "LOGIN_FAILURE_WINDOW", 60)
    user = UserFactory(email="kim@example.com")
    for _ in range(2):
        assert_error(login(client, user.email, "wrong-password-1"), 401)
    _locked(login(client, user.email, DEFAULT_PASSWORD), 60)
