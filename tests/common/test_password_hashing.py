"""Password hashing: off eventlet's hub (other greenthreads keep running), re-hashed when parameters change."""
import subprocess
import sys
import textwrap
from pathlib import Path

from argon2 import PasswordHasher

from app.common.security import hash_password, password_needs_rehash, verify_password
from tests.auth.helpers import login
from tests.factories import DEFAULT_PASSWORD, UserFactory

ROOT = Path(__file__).resolve().parents[2]

# Under a monkey-patched eventlet, one greenthread verifies a deliberately slow hash while another counts its
# own 1 ms naps. On the hub, the verify would hold every greenthread until it finished (one nap counted); off the
# hub the counter keeps going.
HUB_PROBE = textwrap.dedent("""
    import eventlet
    eventlet.monkey_patch()
    from flask import Flask
    from argon2 import PasswordHasher
    from app.common.security import verify_password

    slow = PasswordHasher(time_cost=12, memory_cost=65536, parallelism=1)
    stored = slow.hash("a long enough passphrase")
    app = Flask("probe")
    app.config.update(ARGON2_TIME_COST=12, ARGON2_MEMORY_COST=65536, ARGON2_PARALLELISM=1,
                      PASSWORD_HASH_CONCURRENCY=2)
    done = []

    def check():
        with app.app_context():
            done.append(verify_password(stored, "a long enough passphrase"))

    worker = eventlet.spawn(check)
    naps = 0
    while not done:
        eventlet.sleep(0.001)
        naps += 1
    worker.wait()
    print(done[0], naps)
""")


def test_verify_runs_off_the_eventlet_hub():
    result = subprocess.run([sys.executable, "-c", HUB_PROBE], cwd=ROOT, capture_output=True, text=True,
                            timeout=120, check=True)
    verified, naps = result.stdout.split()
    assert verified == "True"
    assert int(naps) > 20, result.stdout


def test_hash_and_verify_in_the_threading_server(app):
    stored = hash_password("granite meadow compass")
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "granite meadow compass")
    assert not verify_password(stored, "granite meadow compasS")
    assert not verify_password("not-a-hash", "granite meadow compass")
    assert not password_needs_rehash(stored)
    assert password_needs_rehash("not-a-hash")


def _old_hash(password):
    return PasswordHasher(time_cost=2, memory_cost=16, parallelism=1).hash(password)


def test_login_rehashes_a_password_stored_with_other_parameters(client, db):
    user = UserFactory(email="old@example.com", password_hash=_old_hash(DEFAULT_PASSWORD))
    version = user.token_version
    assert password_needs_rehash(user.password_hash)

    assert login(client, "old@example.com", DEFAULT_PASSWORD).status_code == 200

    db.session.expire_all()
    assert not password_needs_rehash(user.password_hash)
    assert verify_password(user.password_hash, DEFAULT_PASSWORD)
    assert user.token_version == version  # sessions are kept


def test_a_wrong_password_does_not_rehash(client, db):
    stored = _old_hash(DEFAULT_PASSWORD)
    user = UserFactory(email="old@example.com", password_hash=stored)
    assert login(client, "old@example.com", "not the password at all").status_code == 401
    db.session.expire_all()
    assert user.password_hash == stored
