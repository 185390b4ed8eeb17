"""The database out of reach (a server process of the test's own whose DATABASE_URL names a port nobody listens
on): every request that needs it answers 503 with Retry-After, /health names the database, nothing answers 500."""
import pytest
import requests
import sqlalchemy as sa

from app.common.errors import database_unavailable
from app.extensions import db
from app.users import services
from tests.conftest import assert_error, free_port
from tests.factories import UserFactory


def test_database_down_answers_503(redis_server, start_child):
    child = start_child("serve", REDIS_URL=redis_server.url,
                        DATABASE_URL=f"postgresql://postgres@127.0.0.1:{free_port()}/tutorhub_down")
    for path in ("/api/v1/tutors", "/api/v1/subjects", "/api/v1/health"):
        response = requests.get(f"{child.base_url}{path}", timeout=30)
        assert response.status_code == 503, (path, response.text)
        body = response.json()
        assert body["code"] == 503 and body["status"] == "Service Unavailable"
        assert int(response.headers["Retry-After"]) > 0
    assert body["errors"] == {"database": "error: OperationalError", "redis": "ok"}
    login = requests.post(f"{child.base_url}/api/v1/auth/login",
                          json={"email": "kim@example.com", "password": "a perfectly fine passphrase"}, timeout=30)
    assert login.status_code == 503, login.text



def test_other_database_errors_stay_500(client, auth, monkeypatch):
    """Only an unreachable database is a 503: a failing statement on a live connection is a bug, answered 500."""
    monkeypatch.setattr(services, "get_user", lambda _user_id: db.session.execute(sa.text("SELECT * FROM nowhere")))
    response = client.get("/api/v1/users/1", headers=auth.headers(UserFactory()))
    assert assert_error(response, 500)["message"] == "An unexpected error occurred."
    assert "Retry-After" not in response.headers


class _DriverError(Exception):
    def __init__(self, sqlstate):
        super().__init__("driver error")
        self.sqlstate = sqlstate


@pytest.mark.parametrize(("statement", "sqlstate", "invalidated", "unavailable"), [
    (None, None, False, True),               # refused while connecting
    ("SELECT 1", "57P01", False, True),      # admin shutdown (pg_terminate_backend, a restart)
    ("SELECT 1", "08006", False, True),      # connection failure
    ("SELECT 1", None, True, True),          # SQLAlchemy saw the disconnect
    ("SELECT 1", "42P01", False, False),     # undefined table: a bug
    (None, "40001", False, False),           # serialization failure at COMMIT: not an outage
])
def test_what_counts_as_the_database_being_unavailable(statement, sqlstate, invalidated, unavailable):
    error = sa.exc.OperationalError(statement, {}, _DriverError(sqlstate), connection_invalidated=invalidated)
    assert database_unavailable(error) is unavailable
