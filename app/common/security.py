"""Password hashing (argon2id, off the event loop), token hashing, random secrets and the HSTS header."""
import hashlib
import hmac
import secrets
import sys

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, request

from app.common.gate import FifoGate

_GATES = {}


def _hasher():
    config = current_app.config
    return PasswordHasher(
        time_cost=config["ARGON2_TIME_COST"],
        memory_cost=config["ARGON2_MEMORY_COST"],
        parallelism=config["ARGON2_PARALLELISM"],
    )


def _eventlet_patched():
    """True when eventlet's hub runs this process (wsgi.py monkey-patches before anything else)."""
    eventlet = sys.modules.get("eventlet")
    return eventlet is not None and eventlet.patcher.is_monkey_patched("thread")


def _gate():
    limit = current_app.config.get("PASSWORD_HASH_CONCURRENCY", 2)
    if limit not in _GATES:
        _GATES[limit] = FifoGate(limit)
    return _GATES[limit]


def _off_the_hub(fn, *args):
    """Run a CPU-bound argon2 call where it does not stall the other requests of this process.

    Under eventlet, in a real OS thread (``eventlet.tpool``; argon2-cffi releases the GIL), at most
    PASSWORD_HASH_CONCURRENCY at once and the rest in arrival order. Under the threading server each request
    already has its own thread, so the call runs where it is.
    """
    if not _eventlet_patched():
        return fn(*args)
    from eventlet import tpool

    with _gate():
        return tpool.execute(fn, *args)


def hash_password(password):
    return _off_the_hub(_hasher().hash, password)


def verify_password(password_hash, password):
    if not password_hash:
        return False
    try:
        return _off_the_hub(_hasher().verify, password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash):
    """True when a stored hash was made with other argon2 parameters than the configured ones."""
    try:
        return _hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def keyed_digest(value):
    """HMAC-SHA256 keyed by SECRET_KEY: for high-entropy secrets (recovery codes, OTPs, feed tokens)."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def digest_matches(expected_digest, value):
    return hmac.compare_digest(expected_digest, keyed_digest(value))


def random_token(nbytes=32):
    return secrets.token_urlsafe(nbytes)


def random_digits(length):
    return "".join(secrets.choice("0123456789") for _ in range(length))


def register_hsts(app):
    """Strict-Transport-Security (HSTS_MAX_AGE, HSTS_INCLUDE_SUBDOMAINS) on responses served over HTTPS only:
    browsers ignore it over plain HTTP, and sending it there would pin a site that has no certificate."""

    @app.after_request
    def strict_transport_security(response):
        max_age = current_app.config.get("HSTS_MAX_AGE", 0)
        if request.is_secure and max_age > 0:
            subdomains = "; includeSubDomains" if current_app.config.get("HSTS_INCLUDE_SUBDOMAINS") else ""
            response.headers.setdefault("Strict-Transport-Security", f"max-age={max_age}{subdomains}")
        return response
