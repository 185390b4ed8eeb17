"""The per-request user lookup (app.auth.queries): one SELECT for the user and its roles outside any transaction,
equal to its portable twin, and every change to the account (roles, deactivation, deletion) applies to the next
request.

The test client shares the test's app context (and so its session); ``fresh`` drops that session before a
request, so the request meets the empty session production requests meet.
"""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.auth import queries
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


def test_an_authenticated_read_runs_one_statement_outside_a_transaction(client, auth, db, statements):
    user = UserFactory(roles=["tutor", "student"], bio="Hello")
    headers = auth.headers(user)
    through_session = client.get(ME, headers=headers).get_json()  # the user is in the session: read through it
    db.session.remove()
    statements.clear()
    response = client.get(ME, headers=headers)
    assert response.status_code == 200
    assert response.get_json() == through_session
    assert through_session["roles"] == ["student", "tutor"]
    # one connection, checked out for the SELECT (run on its DBAPI cursor) and given back at once: no BEGIN,
    # no ROLLBACK, nothing else on it
    assert statements == ["checkout", "checkin"]


def _column_values(user):
    return {prop.key: getattr(user, prop.key) for prop in User.__mapper__.column_attrs}


def test_the_fast_read_equals_its_portable_twin(app, db):
    """Every column through its type's result processor: aware UTC datetimes, JSON, booleans, big ints, None."""
    user = UserFactory(
        roles=["tutor", "instructor"], bio="Bio", learning_styles=["visual", "reading"],
        preferences={"lang": ["en", "fr"]}, social_links={"site": "https://example.com"},
        phone_number="+33123456789", mfa_secret="JBSWY3DPEHPK3PXP", mfa_enabled=True, mfa_last_step=2**40,
        avatar_key=None, email_confirmed_at=datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
    )
    user_id = user.id
    db.session.remove()
    twin, twin_roles = queries.read_user_with_roles_in_session(user_id)
    expected = _column_values(twin)
    db.session.remove()
    fast, fast_roles = queries.read_user_with_roles(user_id)
    assert _column_values(fast) == expected
    assert {key: type(value) for key, value in _column_values(fast).items()} == {
        key: type(value) for key, value in expected.items()}
    assert sorted(fast_roles.split(",")) == sorted(twin_roles.split(",")) == ["instructor", "tutor"]
    assert fast.email_confirmed_at.utcoffset() == timedelta(0)
    # a clean persistent instance of the request's session: nothing to flush, relationships load on access
    assert sa.inspect(fast).persistent and fast in db.session
    assert not db.session.dirty and not db.session.new
    assert db.session.get(User, user_id) is fast
    assert sorted(row.role for row in fast.role_rows) == ["instructor", "tutor"]
    db.session.remove()
    assert queries.read_user_with_roles(10**9) is None and queries.read_user_with_roles_in_session(10**9) is None


@pytest.mark.postgres
def test_a_dropped_connection_fails_one_lookup_at_most(app, db):
    """The pooled connections die (server restart, proxy timeout): at most one lookup fails, with SQLAlchemy's
    disconnect error, and the pool is renewed for the next ones."""
    user = UserFactory()
    user_id = user.id
    db.session.remove()
    assert queries.read_user_with_roles(user_id) is not None
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
            outcomes.append(queries.read_user_with_roles(user_id)[0].id)
        except sa.exc.DBAPIError as error:
            outcomes.append("invalidated" if error.connection_invalidated else repr(error))
    assert outcomes[1:] == [user_id, user_id] and outcomes[0] in (user_id, "invalidated"), outcomes


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


