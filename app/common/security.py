"""Password hashing (argon2id), token hashing, random secrets and the HSTS header."""
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, request


def _hasher():
    config = current_app.config
    return PasswordHasher(
        time_cost=config["ARGON2_TIME_COST"],
        memory_cost=config["ARGON2_MEMORY_COST"],
        parallelism=config["ARGON2_PARALLELISM"],
    )


def hash_password(password):
    return _hasher().hash(password)


def verify_password(password_hash, password):
    if not password_hash:
        return False
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


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
