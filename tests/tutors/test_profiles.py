"""GET/PUT /tutors/me, GET /tutors/{id}, GET /subjects."""
import pytest

from tests.conftest import assert_error
from tests.factories import SubjectFactory, TutorProfileFactory, UserFactory

ME = "/api/v1/tutors/me"


@pytest.fixture
def subjects(app):
    return [SubjectFactory(slug="mathematics", name="Mathematics", category="STEM"),
            SubjectFactory(slug="physics", name="Physics", category="STEM"),
            SubjectFactory(slug="french", name="French", category="Languages")]


def profile_body(**overrides):
    body = {
        "headline": "Calculus made clear", "bio": "Ten years of teaching.", "rate_cents": 4500, "currency": "EUR",
        "subjects": [{"subject": "mathematics", "level": "university"}, {"subject": "physics", "level": "secondary"}],
        "languages": ["es", "en", "en"], "teaching_styles": ["visual", "reading"], "mode": "both",
        "city": "Madrid", "country": "ES", "latitude": 40.4168, "longitude": -3.7038, "travel_radius_km": 10,
        "years_experience": 10, "offers_trial": True,
    }
    body.update(overrides)
    return body


def test_put_creates_then_replaces_profile(client, auth, tutor, subjects):
    assert_error(client.get(ME, headers=auth.headers(tutor)), 404)
    response = client.put(ME, json=profile_body(), headers=auth.headers(tutor))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["id"] == tutor.id and body["full_name"] == "Tina Tutor"
    assert body["languages"] == ["en", "es"] and body["latitude"] == 40.4168
    assert [(s["slug"], s["level"]) for s in body["subjects"]] == [("mathematics", "university"), ("physics", "secondary")]
    assert body["verified"] is False and body["rating"] == {"average": None, "count": 0, "bayesian": None}
    replaced = client.put(ME, json=profile_body(subjects=[{"subject": "physics", "level": "secondary"},
                                                          {"subject": "french", "level": "primary"}],
                                                mode="online", latitude=None, longitude=None),
                          headers=auth.headers(tutor)).get_json()
    assert [(s["slug"], s["level"]) for s in replaced["subjects"]] == [("physics", "secondary"), ("french", "primary")]
    assert replaced["mode"] == "online" and replaced["latitude"] is None
    assert client.get(ME, headers=auth.headers(tutor)).get_json() == replaced


@pytest.mark.parametrize("overrides,field", [
    ({"subjects": [{"subject": "astrology", "level": "primary"}]}, "subjects"),
    ({"subjects": []}, "subjects"),
    ({"subjects": [{"subject": "physics", "level": "phd"}]}, "subjects"),
    ({"mode": "in_person", "latitude": None, "longitude": None}, "latitude"),
    ({"latitude": 40.0, "longitude": None}, "latitude"),
    ({"latitude": 91.0}, "latitude"),
    ({"rate_cents": -1}, "rate_cents"),
    ({"currency": "XYZ"}, "currency"),
    ({"teaching_styles": ["telepathic"]}, "teaching_styles"),
    ({"languages": ["English"]}, "languages"),
    ({"country": "Spain"}, "country"),
    ({"mode": "carrier-pigeon"}, "mode"),
    ({"surprise": True}, "surprise"),
])
def test_put_rejects_bad_input(client, auth, tutor, subjects, overrides, field):
    body = assert_error(client.put(ME, json=profile_body(**overrides), headers=auth.headers(tutor)), 422)
    assert field in str(body["errors"])


def test_unknown_subject_lists_valid_slugs(client, auth, tutor, subjects):
    body = assert_error(client.put(ME, json=profile_body(subjects=[{"subject": "astrology", "level": "primary"}]),
                                   headers=auth.headers(tutor)), 422)
    assert "french, mathematics, physics" in body["errors"]["subjects"][0]


def test_me_needs_tutor_role_and_auth(client, auth, student, subjects):
    assert_error(client.get(ME), 401)
    assert_error(client.put(ME, json=profile_body()), 401)
    assert_error(client.get(ME, headers=auth.headers(student)), 403)
    assert_error(client.put(ME, json=profile_body(), headers=auth.headers(student)), 403)


def test_public_profile_hides_coordinates(client, auth, tutor, subjects):
    client.put(ME, json=profile_body(), headers=auth.headers(tutor))
    response = client.get(f"/api/v1/tutors/{tutor.id}")
    assert response.status_code == 200
    body = response.get_json()
    assert body["headline"] == "Calculus made clear" and body["city"] == "Madrid"
    assert "latitude" not in body and "longitude" not in body and "email" not in body
    assert body["rating"]["count"] == 0 and body["verified"] is False


def test_public_profile_404s(client, subjects):
    inactive = TutorProfileFactory(user=UserFactory(roles=["tutor"], is_active=False))
    no_longer_tutor = TutorProfileFactory(user=UserFactory(roles=["student"]))
    plain_user = UserFactory(roles=["tutor"])
    for user_id in (inactive.user_id, no_longer_tutor.user_id, plain_user.id, 999999):
        assert_error(client.get(f"/api/v1/tutors/{user_id}"), 404)


def test_renaming_the_account_renames_the_search_entry(client, auth, tutor, subjects, db):
    from app.tutors.models import TutorProfile

    client.put(ME, json=profile_body(), headers=auth.headers(tutor))
    client.patch("/api/v1/users/me", json={"full_name": "Tina Turner"}, headers=auth.headers(tutor))
    db.session.expire_all()
    assert db.session.get(TutorProfile, tutor.id).search_name == "Tina Turner"


def test_subjects_catalog(client, subjects):
    response = client.get("/api/v1/subjects")
    assert response.status_code == 200
    assert [s["slug"] for s in response.get_json()] == ["french", "mathematics", "physics"]
    assert response.get_json()[0] == {"id": subjects[2].id, "slug": "french", "name": "French", "category": "Languages"}
