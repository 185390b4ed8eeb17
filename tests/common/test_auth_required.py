"""auth_required's one-pass token check: the same refusals, bodies and user as flask-jwt-extended's own."""
import time

import jwt as pyjwt
import pytest
from flask_jwt_extended import create_access_token, decode_token

from app.auth.tokens import revoke_jti
from tests.auth.helpers import bearer
from tests.conftest import assert_error
from tests.factories import UserFactory

ME = "/api/v1/users/me"


def access_token(app, user, **claims):
    with app.test_request_context():
        return create_access_token(identity=user, additional_claims={"tv": user.token_version, **claims})


def test_revoked_access_token_is_refused(client, app, auth):
    user = UserFactory()
    token = auth.tokens(user)["access_token"]
    assert client.get(ME, headers=bearer(token)).status_code == 200
    with app.test_request_context():
        claims = decode_token(token)
    revoke_jti(claims["jti"], claims["exp"])
    body = assert_error(client.get(ME, headers=bearer(token)), 401, "revoked")
    assert body["status"] == "Unauthorized"


def test_deactivated_user_is_refused_even_with_a_current_token_version(client, auth, db):
    user = UserFactory()
    headers = auth.headers(user)
    user.is_active = False  # no token_version bump: the flag alone must end the session
    db.session.commit()
    assert_error(client.get(ME, headers=headers), 401, "no longer valid")


def test_token_version_bump_is_refused(client, auth, db):
    user = UserFactory()
    headers = auth.headers(user)
    assert client.get(ME, headers=headers).status_code == 200
    user.token_version += 1
    db.session.commit()
    assert_error(client.get(ME, headers=headers), 401, "no longer valid")


def test_roles_are_read_from_the_database_on_every_request(client, auth, db):
    admin = UserFactory(roles=["student", "admin"])
    headers = auth.headers(admin)  # the token still says "admin" after the demotion below
    assert client.get("/api/v1/admin/users", headers=headers).status_code == 200
    admin.roles = ["student"]
    db.session.commit()
    assert_error(client.get("/api/v1/admin/users", headers=headers), 403)
    assert client.get(ME, headers=headers).get_json()["roles"] == ["student"]


@pytest.mark.parametrize("value, message", [
    (None, "Authentication required: Missing Authorization Header"),
    ("Token abc.def.ghi", "Missing 'Bearer' type"),
    ("Bearer", "Bad Authorization header"),
    ("Bearer a.b.c extra", "Bad Authorization header"),
    ("Bearer not.a.jwt", "Invalid token"),
])
def test_header_shapes_give_flask_jwt_extended_messages(client, value, message):
    headers = {} if value is None else {"Authorization": value}
    assert_error(client.get(ME, headers=headers), 401, message)


def test_refused_token_kinds(client, app, auth):
    user = UserFactory()
    refresh = auth.tokens(user)["refresh_token"]
    assert_error(client.get(ME, headers=bearer(refresh)), 401, "Only non-refresh tokens are allowed")
    expired = access_token(app, user, exp=int(time.time()) - 5)
    assert_error(client.get(ME, headers=bearer(expired)), 401, "expired")
    other_alg = pyjwt.encode({"sub": str(user.id), "type": "access", "jti": "x", "tv": user.token_version,
                              "exp": int(time.time()) + 60}, app.config["JWT_SECRET_KEY"] * 2, algorithm="HS512")
    assert_error(client.get(ME, headers=bearer(other_alg)), 401, "Invalid token")
    no_subject = pyjwt.encode({"type": "access", "jti": "y", "exp": int(time.time()) + 60},
                              app.config["JWT_SECRET_KEY"], algorithm="HS256")
    assert_error(client.get(ME, headers=bearer(no_subject)), 401, "Invalid token")


def test_bearer_with_extra_spaces_still_works_through_the_library_path(client, auth):
    user = UserFactory()
    token = auth.tokens(user)["access_token"]
    response = client.get(ME, headers={"Authorization": f"  Bearer {token}, Basic abc"})
    assert response.status_code == 200 and response.get_json()["id"] == user.id
