"""The per-request user lookup (app.auth.tokens.load_active_user): one SELECT for the user and its roles, and
every change to the account (roles, deactivation, deletion) applies to the next request.

The test client shares the test's app context (and so its session); ``fresh`` drops that session before a
request, so the request meets the empty session production requests meet.
"""

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


def test_an_authenticated_read_runs_one_statement(client, auth, db, statements):
    user = UserFactory(roles=["tutor", "student"], bio="Hello")
    headers = auth.headers(user)
    through_session = client.get(ME, headers=headers).get_json()  # the user is in the session: read through it
    db.session.remove()
    statements.clear()
    response = client.get(ME, headers=headers)
    assert response.status_code == 200
    assert response.get_json() == through_session
    assert through_session["roles"] == ["student", "tutor"]
    # the user and its role names in one SELECT, on one connection
    selects = [statement for statement in statements if statement.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 1 and "users" in selects[0]
    assert statements.count("checkout") == 1


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


