"""The TOTP verifier against RFC 6238 Appendix B, and its replay/window rules."""
import base64
import hashlib

import pyotp
import pytest

from app.auth import totp

RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()

# RFC 6238 Appendix B, SHA-1 column: (Unix time, 8-digit TOTP).
RFC6238_SHA1 = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]


@pytest.mark.parametrize(("at", "code"), RFC6238_SHA1)
def test_rfc6238_appendix_b_sha1_vectors(at, code):
    step = totp.matching_step(RFC_SECRET, code, at=at, digits=8, digest=hashlib.sha1)
    assert step == at // totp.PERIOD


@pytest.mark.parametrize(("at", "code"), RFC6238_SHA1)
def test_rfc6238_codes_are_refused_far_from_their_time(at, code):
    assert totp.matching_step(RFC_SECRET, code, at=at + 10 * totp.PERIOD, digits=8) is None


def test_adjacent_steps_accepted_and_older_ones_refused():
    secret = totp.new_secret()
    now = 1_800_000_000
    generator = pyotp.TOTP(secret)
    assert totp.matching_step(secret, generator.at(now - 30), at=now) == now // 30 - 1
    assert totp.matching_step(secret, generator.at(now + 30), at=now) == now // 30 + 1
    assert totp.matching_step(secret, generator.at(now - 90), at=now) is None


def test_replay_is_refused():
    secret = totp.new_secret()
    now = 1_800_000_000
    code = pyotp.TOTP(secret).at(now)
    step = totp.matching_step(secret, code, at=now)
    assert totp.matching_step(secret, code, last_step=step, at=now) is None
    assert totp.matching_step(secret, pyotp.TOTP(secret).at(now + 30), last_step=step, at=now) == step + 1


@pytest.mark.parametrize("code", ["", None, "12345", "1234567", "abcdef", "12 34 5x"])
def test_malformed_codes(code):
    assert totp.matching_step(totp.new_secret(), code) is None


def test_recovery_codes_are_distinct_and_normalized():
    codes = totp.new_recovery_codes()
    assert len(codes) == len(set(codes)) == 10
    assert totp.normalize_recovery_code(codes[0].upper().replace("-", " ")) == codes[0]
