"""Secrets at rest (calendar OAuth tokens, webhook signing secrets): Fernet (AES-128-CBC + HMAC-SHA256) from
``cryptography``, with key rotation through ``MultiFernet``.

Keys come from ``DATA_ENCRYPTION_KEYS``: a comma-separated list of passphrases, newest first. Each is stretched
to a Fernet key with HKDF-SHA256, so any long random string works. ``encrypt`` always uses the first key;
``decrypt`` tries them all, so adding a new key in front keeps every stored value readable, and ``rotate``
re-encrypts a value under the newest key (run over a table, then drop the old key). Without the setting, one key
derived from ``SECRET_KEY`` is used.
"""
import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

INFO = b"tutorhub data encryption v1"


class Undecryptable(Exception):
    """A stored value none of the configured keys opens (a key was dropped too early, or the value is corrupt)."""


def _fernet_key(passphrase):
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=INFO).derive(passphrase.encode())
    return base64.urlsafe_b64encode(derived)


def _keys():
    configured = current_app.config.get("DATA_ENCRYPTION_KEYS") or [current_app.config["SECRET_KEY"]]
    return MultiFernet([Fernet(_fernet_key(passphrase)) for passphrase in configured])


def encrypt(text):
    """The ``str`` token of ``text`` under the newest key."""
    return _keys().encrypt(text.encode()).decode()


def decrypt(token):
    """The text of a token made by ``encrypt`` under any configured key; ``Undecryptable`` otherwise."""
    try:
        return _keys().decrypt(token.encode()).decode()
    except InvalidToken:
        raise Undecryptable("No configured DATA_ENCRYPTION_KEYS opens this value.") from None


def rotate(token):
    """The same value re-encrypted under the newest key (``Undecryptable`` when no key opens it)."""
    try:
        return _keys().rotate(token.encode()).decode()
    except InvalidToken:
        raise Undecryptable("No configured DATA_ENCRYPTION_KEYS opens this value.") from None
