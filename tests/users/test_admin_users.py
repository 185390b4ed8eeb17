"""Admin user management: GET /admin/users (filters, pagination) and PATCH /admin/users/{id}."""
import json

import pytest

from tests.conftest import assert_error
from tests.factories import UserFactory

LIST = "/api/v1/admin/users"


@pytest.fixture
def admin(auth):
    user = UserFactory(email="root@example.com", full_name="Root Admin", roles=["admin"])
    return user, auth.headers(user)


def test_list_users_with_pagination(client, admin):
    _admin, headers = admin
    for index in range(5):
        UserFactory(email=f"s{index}@example.com")

    response = client.get(LIST, headers=headers, query_string={"page": 2, "page_size": 2})

    assert response.status_code == 200
    pagination = json.loads(response.headers["X-Pagination"])
    assert pagination["total"] == 6 and pagination["total_pages"] == 3 and pagination["page"] == 2
    body = response.get_json()
    assert [user["email"] for user in body] == ["s1@example.com", "s2@example.com"]
    assert {"is_active", "last_login_at", "email"} <= set(body[0])


def test_list_filters(client, admin):
    _admin, headers = admin
    UserFactory(email="maria@example.com", full_name="María García", roles=["tutor"])
    UserFactory(email="sam@example.com", full_name="Sam Patel", roles=["student"], is_active=False)
    UserFactory(email="yuki@example.com", full_name="Yuki Tanaka", roles=["tutor", "student"])

    def emails(**query):
        response = client.get(LIST, headers=headers, query_string=query)
        assert response.status_code == 200, response.get_json()
        return [user["email"] for user in response.get_json()]

    assert emails(role="tutor") == ["maria@example.com", "yuki@example.com"]
    assert emails(is_active="false") == ["sam@example.com"]
    assert emails(q="TANAKA") == ["yuki@example.com"]
    assert emails(q="sam@") == ["sam@example.com"]
    assert emails(role="student", is_active="true") == ["yuki@example.com"]


@pytest.mark.parametrize("query", [{"page_size": 101}, {"page": 0}, {"role": "wizard"}, {"is_active": "maybe"}])
def test_list_rejects_bad_query(client, admin, query):
    _admin, headers = admin
    assert_error(client.get(LIST, headers=headers, query_string=query), 422)


def test_list_needs_admin(client, auth):
    assert_error(client.get(LIST), 401)
    assert_error(client.get(LIST, headers=auth.headers(UserFactory(roles=["tutor"]))), 403)


def test_patch_roles(client, admin):
    _admin, headers = admin
    user = UserFactory()
    response = client.patch(f"{LIST}/{user.id}", headers=headers, json={"roles": ["student", "admin"]})
    assert response.status_code == 200
    assert response.get_json()["roles"] == ["admin", "student"]


def test_deactivation_ends_sessions(client, admin, auth):
    _admin, headers = admin
    user = UserFactory(email="kim@example.com")
    user_headers = auth.headers(user)

    response = client.patch(f"{LIST}/{user.id}", headers=headers, json={"is_active": False})

    assert response.status_code == 200 and response.get_json()["is_active"] is False
    assert_error(client.get("/api/v1/users/me", headers=user_headers), 401)
    reactivated = client.patch(f"{LIST}/{user.id}", headers=headers, json={"is_active": True})
    assert reactivated.status_code == 200
    # Reactivation does not resurrect the old tokens.
    assert_error(client.get("/api/v1/users/me", headers=user_headers), 401)


def test_patch_refusals(client, admin, auth):
    admin_user, headers = admin
    user = UserFactory()
    body = assert_error(client.patch(f"{LIST}/{user.id}", headers=headers, json={"roles": ["wizard"]}), 422)
    assert "roles" in body["errors"]
    assert_error(client.patch(f"{LIST}/{user.id}", headers=headers, json={"email": "x@example.com"}), 422)
    assert_error(client.patch(f"{LIST}/999999", headers=headers, json={"is_active": False}), 404)
    assert_error(client.patch(f"{LIST}/{admin_user.id}", headers=headers, json={"is_active": False}), 422)
    assert_error(client.patch(f"{LIST}/{admin_user.id}", headers=headers, json={"roles": ["student"]}), 422)


def test_patch_needs_admin(client, auth):
    user = UserFactory()
    other = UserFactory(roles=["student", "tutor", "instructor"])
    assert_error(client.patch(f"{LIST}/{user.id}", json={"roles": ["admin"]}), 401)
    assert_error(client.patch(f"{LIST}/{user.id}", headers=auth.headers(other), json={"roles": ["admin"]}), 403)
    assert_error(client.patch(f"{LIST}/{other.id}", headers=auth.headers(other), json={"roles": ["admin"]}), 403)
