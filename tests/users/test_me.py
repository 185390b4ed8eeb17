"""GET/PATCH /users/me: the signed-in user's own profile."""
import pytest

from tests.conftest import assert_error
from tests.factories import UserFactory

URL = "/api/v1/users/me"


def test_get_me(client, auth):
    user = UserFactory(email="kim@example.com", roles=["student", "tutor"])
    response = client.get(URL, headers=auth.headers(user))
    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == user.id
    assert body["email"] == "kim@example.com"
    assert body["roles"] == ["student", "tutor"]
    assert body["email_confirmed"] is True
    assert body["avatar_url"] is None
    assert body["created_at"].endswith("+00:00")
    assert not {"password_hash", "mfa_secret", "token_version", "is_active"} & set(body)


def test_me_needs_login(client):
    assert_error(client.get(URL), 401)
    assert_error(client.patch(URL, json={"bio": "x"}), 401)


def test_patch_me(client, auth):
    user = UserFactory()
    changes = {
        "full_name": "  Kim Lee ",
        "bio": "Chemistry student.",
        "timezone": "America/Sao_Paulo",
        "locale": "pt-BR",
        "learning_styles": ["visual", "kinesthetic"],
        "preferences": {"email_digest": "weekly", "dark_mode": True},
        "social_links": {"github": "https://github.com/kimlee", "website": "https://kim.example.org/about"},
        "phone_number": "+5511912345678",
    }

    response = client.patch(URL, headers=auth.headers(user), json=changes)

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["full_name"] == "Kim Lee"
    for field in ("bio", "timezone", "locale", "learning_styles", "preferences", "social_links", "phone_number"):
        assert body[field] == changes[field]
    again = client.get(URL, headers=auth.headers(user)).get_json()
    assert again["social_links"] == changes["social_links"]


def test_patch_is_partial(client, auth):
    user = UserFactory(bio="Unchanged bio", timezone="Asia/Tokyo")
    body = client.patch(URL, headers=auth.headers(user), json={"locale": "ja"}).get_json()
    assert (body["bio"], body["timezone"], body["locale"]) == ("Unchanged bio", "Asia/Tokyo", "ja")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"timezone": "Europe/Atlantis"}, "timezone"),
        ({"learning_styles": ["telepathic"]}, "learning_styles"),
        ({"social_links": {"github": "javascript:alert(1)"}}, "social_links"),
        ({"social_links": {"github": "http://github.com/kim"}}, "social_links"),
        ({"social_links": {"myspace": "https://myspace.com/kim"}}, "social_links"),
        ({"phone_number": "555-1234"}, "phone_number"),
        ({"locale": "english"}, "locale"),
        ({"full_name": ""}, "full_name"),
        ({"email": "new@example.com"}, "email"),
        ({"roles": ["admin"]}, "roles"),
        ({"preferences": {f"k{i}": i for i in range(51)}}, "preferences"),
    ],
)
def test_patch_me_rejects_bad_input(client, auth, changes, field):
    user = UserFactory()
    body = assert_error(client.patch(URL, headers=auth.headers(user), json=changes), 422)
    assert field in body["errors"], body
    assert client.get(URL, headers=auth.headers(user)).get_json()["roles"] == ["student"]
