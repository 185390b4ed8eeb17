"""PostgreSQL kills every connection of the app's pool (a restart, a failover): no request fails for it.

The killer is a connection outside the pool, so every pooled connection is dead when the requests come. Each
kind of request is made once before (so the pool holds connections that then die while idle) and once after,
each in an app context of its own as in a server (its own session, its own checkout).
"""
import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from app.auth import queries
from tests.factories import ReviewFactory, TutorProfileFactory, UserFactory

pytestmark = pytest.mark.postgres


def _terminate_other_backends(db):
    """pg_terminate_backend on every other backend of the test database, waiting (5 s at most) until each has
    exited; how many it killed."""
    db.session.remove()  # the test's own session gives its connection back to the pool, to die with the rest
    killer = sa.create_engine(db.engine.url, poolclass=NullPool)
    try:
        with killer.connect() as connection:
            return connection.scalar(sa.text(
                "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
    finally:
        killer.dispose()


def _request(app, method, path, **kwargs):
    with app.app_context():
        return getattr(app.test_client(), method)(path, **kwargs)


def _requests(app, headers, tutor_id, profile_id):
    """One request of each kind: public reads, the authenticated lookup (raw DBAPI fast path), a write."""
    return {
        "tutors": _request(app, "get", "/api/v1/tutors"),
        "profile": _request(app, "get", f"/api/v1/tutors/{profile_id}"),
        "reviews": _request(app, "get", f"/api/v1/tutors/{tutor_id}/reviews"),
        "me": _request(app, "get", "/api/v1/users/me", headers=headers),
        "notifications": _request(app, "get", "/api/v1/notifications", headers=headers),
        "write": _request(app, "patch", "/api/v1/users/me", headers=headers, json={"full_name": "Still Here"}),
        "health": _request(app, "get", "/api/v1/health"),
    }


def test_no_request_fails_after_the_servers_connections_are_killed(app, db, auth):
    headers = auth.headers(UserFactory())
    tutor_id = ReviewFactory().tutor_id
    profile_id = TutorProfileFactory().user_id
    before = _requests(app, headers, tutor_id, profile_id)
    assert {name: response.status_code for name, response in before.items()} == dict.fromkeys(before, 200)

    assert _terminate_other_backends(db) >= 1
    after = _requests(app, headers, tutor_id, profile_id)
    failed = {name: (response.status_code, response.get_data(as_text=True)[:200])
              for name, response in after.items() if response.status_code != 200}
    assert failed == {}


def test_the_auth_lookup_survives_its_connection_dying(app, db, auth, monkeypatch):
    """The per-request user lookup runs on a raw DBAPI cursor: a dead pooled connection is replaced there too."""
    headers = auth.headers(UserFactory())
    portable = []
    monkeypatch.setattr(queries, "read_user_with_roles_in_session",
                        lambda user_id: portable.append(user_id))  # the fast path must be the one tested
    assert _request(app, "get", "/api/v1/users/me", headers=headers).status_code == 200
    for _ in range(3):
        assert _terminate_other_backends(db) >= 1
        assert _request(app, "get", "/api/v1/users/me", headers=headers).status_code == 200
    assert portable == []
