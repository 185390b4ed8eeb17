"""Secrets at rest: encrypt/decrypt, rotation by putting a new key in front, refusal without the key."""
import pytest

from app.common import crypto


def test_round_trip_and_a_fresh_token_each_time(app):
    token = crypto.encrypt("refresh-token-1")
    assert token != "refresh-token-1" and crypto.encrypt("refresh-token-1") != token
    assert crypto.decrypt(token) == "refresh-token-1"


def test_a_new_key_in_front_keeps_old_values_readable_and_rotate_moves_them(app, monkeypatch):
    monkeypatch.setitem(app.config, "DATA_ENCRYPTION_KEYS", ["old passphrase"])
    old = crypto.encrypt("secret")
    monkeypatch.setitem(app.config, "DATA_ENCRYPTION_KEYS", ["new passphrase", "old passphrase"])
    assert crypto.decrypt(old) == "secret"
    rotated = crypto.rotate(old)
    monkeypatch.setitem(app.config, "DATA_ENCRYPTION_KEYS", ["new passphrase"])
    assert crypto.decrypt(rotated) == "secret"
    with pytest.raises(crypto.Undecryptable):
        crypto.decrypt(old)


def test_without_the_setting_the_secret_key_is_used(app, monkeypatch):
    monkeypatch.setitem(app.config, "DATA_ENCRYPTION_KEYS", [])
    token = crypto.encrypt("x")
    monkeypatch.setitem(app.config, "SECRET_KEY", "another")
    with pytest.raises(crypto.Undecryptable):
        crypto.decrypt(token)
