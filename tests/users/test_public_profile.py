"""GET /users/{id}: another user's public view, never their email or private settings."""
from tests.conftest import assert_error
from tests.factories import UserFactory


def test_public_view_of_another_user(client, auth):
    viewer = UserFactory()
    tutor = UserFactory(email="tutor@example.com", roles=["tutor"], phone_number="+14155550123",
                        preferences={"secret": "x"}, bio="I teach maths.")

    response = client.get(f"/api/v1/users/{tutor.id}", headers=auth.headers(viewer))

    assert response.status_code == 200
    body = response.get_json()
    assert body["full_name"] == tutor.full_name and body["bio"] == "I teach maths."
    assert body["roles"] == ["tutor"]
    assert not {"email", "phone_number", "preferences", "mfa_enabled", "is_active", "email_confirmed"} & set(body)
    assert "tutor@example.com" not in response.get_data(as_text=True)


def test_unknown_and_inactive_users_are_not_found(client, auth):
    viewer = UserFactory()
    gone = UserFactory(is_active=False)
    assert_error(client.get(f"/api/v1/users/{gone.id}", headers=auth.headers(viewer)), 404)
    assert_error(client.get("/api/v1/users/999999", headers=auth.headers(viewer)), 404)


def test_public_view_needs_login(client):
    user = UserFactory()
    assert_error(client.get(f"/api/v1/users/{user.id}"), 401)
