"""Signup is rate limited per address and over all addresses: 429, the standard body, Retry-After."""
from tests.auth.helpers import signup_payload
from tests.conftest import assert_error, read_emails

URL = "/api/v1/auth/signup"


def _signup(client, index, address="10.6.0.1"):
    return client.post(URL, json=signup_payload(email=f"new{index}@example.com"), environ_base={"REMOTE_ADDR": address})


def test_fifteen_signups_from_one_address_are_stopped(client, outbox_dir):
    """The reported reproduction: 15 accounts in a few seconds, each emailing any address."""
    statuses = [_signup(client, index).status_code for index in range(15)]
    assert statuses[:5] == [201] * 5
    assert set(statuses[5:]) == {429}
    assert len(read_emails(outbox_dir)) == 5
    limited = _signup(client, 99)
    assert_error(limited, 429, "too many requests")
    assert int(limited.headers["Retry-After"]) > 0


def test_the_per_address_limit_is_configurable_and_per_address(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_SIGNUP", "2 per hour")
    assert [_signup(client, i).status_code for i in range(3)] == [201, 201, 429]
    assert _signup(client, 3, address="10.6.0.2").status_code == 201


def test_the_global_cap_spans_addresses(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_SIGNUP_GLOBAL", "3 per hour")
    statuses = [_signup(client, i, address=f"10.7.0.{i}").status_code for i in range(4)]
    assert statuses == [201, 201, 201, 429]


def test_a_refused_signup_still_counts(client, app, monkeypatch):
    """Probing which addresses are registered (409) spends the same budget."""
    monkeypatch.setitem(app.config, "RATELIMIT_SIGNUP", "2 per hour")
    assert _signup(client, 1).status_code == 201
    assert_error(_signup(client, 1), 409)
    assert_error(_signup(client, 2), 429)
