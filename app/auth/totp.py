"""TOTP (RFC 6238) verification with replay protection, on top of pyotp."""
import hashlib
import hmac
import secrets
import time

import pyotp

PERIOD = 30
# Accept the previous and next step too: phones drift.
VALID_WINDOW = 1
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def new_secret():
    return pyotp.random_base32()


def provisioning_uri(secret, email, issuer="Tutorhub"):
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def matching_step(secret, code, last_step=None, at=None, digits=6, digest=hashlib.sha1):
    """The time step whose code equals ``code`` and is newer than ``last_step``, else None.

    Returning the step lets the caller store it, so the same code is never accepted twice.
    """
    code = (code or "").strip().replace(" ", "")
    if not code.isdigit() or len(code) != digits:
        return None
    totp = pyotp.TOTP(secret, digits=digits, digest=digest, interval=PERIOD)
    now_step = int((time.time() if at is None else at) // PERIOD)
    for step in range(now_step - VALID_WINDOW, now_step + VALID_WINDOW + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def new_recovery_codes(count=10):
    def one():
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(10))
        return f"{raw[:5]}-{raw[5:]}"

    return [one() for _ in range(count)]


def normalize_recovery_code(code):
    code = (code or "").strip().lower().replace(" ", "").replace("-", "")
    return f"{code[:5]}-{code[5:]}" if len(code) == 10 else code
