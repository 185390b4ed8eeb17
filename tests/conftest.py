"""Test harness: PostgreSQL/Redis when TEST_DATABASE_URL/TEST_REDIS_URL are set, else SQLite/fakeredis.

The schema is built once by running the migrations (a model without a migration fails here); every test
starts from empty tables and an empty Redis.
"""
import email
import email.policy
import os
import shutil
import socket
import tempfile

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from config import TestingConfig, normalize_database_url

REQUIRE_POSTGRES = os.environ.get("TUTORHUB_REQUIRE_POSTGRES") == "1"


def pytest_configure(config):
    config.addinivalue_line("markers", "postgres: needs PostgreSQL semantics (skipped on SQLite, required in CI)")


@pytest.fixture(scope="session")
def _tmpdir():
    with tempfile.TemporaryDirectory(prefix="tutorhub-tests-") as path:
        yield path


@pytest.fixture(scope="session")
def app(_tmpdir):
    from app import create_app

    class Config(TestingConfig):
        SQLALCHEMY_DATABASE_URI = normalize_database_url(
            os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{_tmpdir}/test.db"
        )
        UPLOAD_DIR = os.path.join(_tmpdir, "uploads")
        MAIL_OUTBOX_DIR = os.path.join(_tmpdir, "outbox")
        # The chat rate limit counts in fixed windows; a day-long one keeps a test's few sends inside one
        # window (with 10 s, a test sending limit + n messages was split across two now and then).
        MESSAGE_RATE_WINDOW = 86400

    app = create_app(Config)
    with app.app_context():
        _reset_schema(app)
        upgrade()
        yield app


def _reset_schema(app):
    """PostgreSQL keeps state between runs: start from an empty schema (SQLite uses a new temp file)."""
    from app.extensions import db

    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as connection:
            connection.execute(sa.text("DROP SCHEMA public CASCADE"))
            connection.execute(sa.text("CREATE SCHEMA public"))


@pytest.fixture(scope="session")
def is_postgres(app):
    from app.extensions import db

    return db.engine.dialect.name == "postgresql"


@pytest.fixture(autouse=True)
def _isolate(request, app):
    from app.extensions import db, limiter, redis_client

    if request.node.get_closest_marker("postgres") and db.engine.dialect.name != "postgresql":
        if REQUIRE_POSTGRES:
            pytest.fail("a postgres-marked test ran without PostgreSQL while TUTORHUB_REQUIRE_POSTGRES=1")
        pytest.skip("needs PostgreSQL semantics; set TEST_DATABASE_URL to run it")
    yield
    db.session.rollback()
    db.session.remove()
    problems = _ledger_problems(app)
    _truncate_all(db)
    redis_client.client.flushdb()
    limiter.reset()
    # Process caches of rows the truncation removed (matching's weights and learned model) must go with them.
    from app.matching import learning, weights

    weights.clear_cache()
    learning.clear_model_cache()
    # Files written by one test (emails, uploads) must not be seen by the next.
    for key in ("MAIL_OUTBOX_DIR", "UPLOAD_DIR"):
        shutil.rmtree(app.config[key], ignore_errors=True)
    assert not problems, f"the ledger is unsound after this test: {problems}"


def _ledger_problems(app):
    """Every test ends with a sound ledger: each transaction sums to zero per currency, cached balances equal
    their entries, no user or platform account below zero (three aggregate queries over small tables)."""
    from app.extensions import db
    from app.payments.ledger import verify

    try:
        return verify()
    finally:
        db.session.rollback()
        db.session.remove()


def _truncate_all(db):
    tables = [table.name for table in db.metadata.sorted_tables]
    with db.engine.begin() as connection:
        if db.engine.dialect.name == "postgresql":
            connection.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in reversed(tables):
                connection.execute(sa.text(f"DELETE FROM {name}"))


@pytest.fixture
def db(app):
    from app.extensions import db

    return db


@pytest.fixture
def client(app):
    return app.test_client()


class AuthActions:
    """Tokens for a user without going through the login endpoint (it is tested on its own)."""

    def __init__(self, app):
        self.app = app

    def tokens(self, user):
        from app.auth.services import issue_tokens
        from app.common.transactions import unit_of_work

        with unit_of_work():
            return issue_tokens(user)

    def headers(self, user):
        return {"Authorization": f"Bearer {self.tokens(user)['access_token']}"}


@pytest.fixture
def auth(app):
    return AuthActions(app)


@pytest.fixture
def outbox_dir(app):
    return app.config["MAIL_OUTBOX_DIR"]


def assert_error(response, status, message_contains=None):
    """Every failure answers the one error shape."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["code"] == status
    assert isinstance(body["status"], str) and body["status"]
    if message_contains:
        assert message_contains.lower() in body.get("message", "").lower(), body
    return body


def read_emails(directory):
    """The .eml files the file email backend wrote, parsed, oldest first."""
    if not os.path.isdir(directory):
        return []
    messages = []
    for name in sorted(os.listdir(directory)):
        if name.endswith(".eml"):
            with open(os.path.join(directory, name), "rb") as handle:
                messages.append(email.message_from_binary_file(handle, policy=email.policy.default))
    return messages


def email_text(message):
    return message.get_body(preferencelist=("plain",)).get_content()


def free_port():
    """A port nobody listens on right now, on 127.0.0.1 (for servers that cannot bind port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
