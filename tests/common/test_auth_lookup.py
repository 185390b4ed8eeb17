"""The per-request user lookup outside the session: a request starting with a fresh session (as every request
does in production, where each gets its own app context) reads the user with one autocommit statement.

The test client shares the test's app context (and so its session); ``fresh`` drops that session before a
request, so the request meets the empty session production requests meet.
"""
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.users.models import User, UserRole
from tests.conftest import assert_error
from tests.factories import UserFactory

ME = "/api/v1/users/me"


@pytest.fixture
def fresh(db):
    def request(call, *args, **kwargs):
        db.session.remove()
        response = call(*args, **kwargs)
        return response

    return request


@pytest.fixture
def statements(db):
    """SQL statements the engine runs, and pool checkouts/checkins, while the fixture is active."""
    seen = []
    listeners = {
        "before_cursor_execute": lambda _conn, _cursor, statement, *_args: seen.append(statement),
        "checkout": lambda *_args: seen.append("checkout"),
        "checkin": lambda *_args: seen.append("checkin"),
    }
    for name, listener in listeners.items():
        sa.event.listen(db.engine, name, listener)
    yield seen
    for name, listener in listeners.items():
        sa.event.remove(db.engine, name, listener)


def test_read_only_request_runs_one_statement_and_no_transaction(client, auth, db, statements):
    user = UserFactory(roles=["tutor", "student"], bio="Hello")
    headers = auth.headers(user)
    through_session = client.get(ME, headers=headers).get_json()  # the user is in the session: read through it
    db.session.remove()
    statements.clear()
    response = client.get(ME, headers=headers)
    assert response.status_code == 200
    assert response.get_json() == through_session
    assert through_session["roles"] == ["student", "tutor"]
    # one connection checked out and given back at once; the SELECT runs on its DBAPI cursor, and SQLAlchemy
    # runs nothing else on it: no BEGIN, no ROLLBACK at teardown
    assert statements == ["checkout", "checkin"]


def test_user_read_outside_the_session_is_persistent_and_unmodified(app, auth, db):
    from app.common.user_lookup import load_active_user

    user = UserFactory(roles=["instructor"])
    user_id, version = user.id, user.token_version
    db.session.remove()
    loaded = load_active_user(user_id, version)
    assert sa.inspect(loaded).persistent and loaded in db.session
    assert not db.session.dirty and not db.session.new
    assert loaded.roles == ["instructor"]
    assert db.session.get(User, user_id) is loaded
    # role rows were not read; asking for them loads them in the session's transaction
    assert [row.role for row in loaded.role_rows] == ["instructor"]


def test_profile_edit_after_a_lookup_outside_the_session_is_saved(client, auth, db, fresh):
    user = UserFactory(full_name="Old Name")
    user_id, headers = user.id, auth.headers(user)
    response = fresh(client.patch, ME, headers=headers, json={"full_name": "New Name", "bio": "Changed"})
    assert response.status_code == 200 and response.get_json()["full_name"] == "New Name"
    db.session.remove()
    saved = db.session.get(User, user_id)
    assert (saved.full_name, saved.bio) == ("New Name", "Changed")
    assert fresh(client.get, ME, headers=headers).get_json()["full_name"] == "New Name"


def test_deactivation_and_demotion_apply_to_the_next_request(client, auth, db, fresh):
    admin = UserFactory(roles=["student", "admin"])
    admin_id, headers = admin.id, auth.headers(admin)
    assert fresh(client.get, "/api/v1/admin/users", headers=headers).status_code == 200
    with db.engine.begin() as connection:  # another process demotes them
        connection.execute(sa.delete(UserRole).where(UserRole.user_id == admin_id, UserRole.role == "admin"))
    assert_error(fresh(client.get, "/api/v1/admin/users", headers=headers), 403)
    assert fresh(client.get, ME, headers=headers).get_json()["roles"] == ["student"]
    with db.engine.begin() as connection:
        connection.execute(sa.update(User).where(User.id == admin_id).values(is_active=False))
    assert_error(fresh(client.get, ME, headers=headers), 401, "no longer valid")


def test_deleted_user_is_refused(client, auth, db, fresh):
    user = UserFactory()
    user_id, headers = user.id, auth.headers(user)
    with db.engine.begin() as connection:
        connection.execute(sa.delete(User).where(User.id == user_id))
    assert_error(fresh(client.get, ME, headers=headers), 401, "no longer valid")


def test_uncommitted_changes_of_the_session_are_seen(client, auth, db):
    """A session already in a transaction (a CLI or test sharing the context) is read through, not around."""
    user = UserFactory()
    headers = auth.headers(user)
    user.is_active = False
    db.session.flush()  # in the session's transaction only
    assert_error(client.get(ME, headers=headers), 401, "no longer valid")
    db.session.rollback()


def test_user_read_outside_the_session_has_the_values_the_orm_loads(app, db):
    """Every column goes through its type's result processor: aware UTC datetimes, JSON, booleans, None."""
    from app.common.user_lookup import load_active_user

    user = UserFactory(
        roles=["tutor"], bio="Bio", learning_styles=["visual", "reading"], preferences={"lang": ["en", "fr"]},
        social_links={"site": "https://example.com"}, phone_number="+33123456789", mfa_secret="JBSWY3DPEHPK3PXP",
        mfa_enabled=True, mfa_last_step=2**40, avatar_key=None,
        email_confirmed_at=datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
    )
    user_id, version = user.id, user.token_version
    db.session.remove()
    expected = {key: getattr(db.session.get(User, user_id), key) for key in (prop.key for prop in User.__mapper__.column_attrs)}
    db.session.remove()
    loaded = load_active_user(user_id, version)
    assert {key: getattr(loaded, key) for key in expected} == expected
    assert {key: type(getattr(loaded, key)) for key in expected} == {key: type(value) for key, value in expected.items()}
    assert loaded.email_confirmed_at.utcoffset() == timedelta(0) and loaded.is_active is True


@pytest.mark.postgres
def test_a_dropped_connection_fails_one_lookup_at_most(app, db):
    """The pooled connections die (server restart, proxy timeout): at most one lookup fails, with SQLAlchemy's
    disconnect error, and the pool is renewed for the next ones."""
    from app.common.user_lookup import load_active_user

    user = UserFactory()
    user_id, version = user.id, user.token_version
    db.session.remove()
    assert load_active_user(user_id, version) is not None
    db.session.remove()
    outsider = sa.create_engine(db.engine.url, poolclass=sa.pool.NullPool)  # not one of the pool's connections
    with outsider.connect() as connection:
        connection.execute(sa.text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND state = 'idle'"
        ))
    outsider.dispose()
    outcomes = []
    for _ in range(3):
        db.session.remove()
        try:
            outcomes.append(load_active_user(user_id, version).id)
        except sa.exc.DBAPIError as error:
            outcomes.append("invalidated" if error.connection_invalidated else repr(error))
    assert outcomes[1:] == [user_id, user_id] and outcomes[0] in (user_id, "invalidated"), outcomes
