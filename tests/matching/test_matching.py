"""POST /matches: hard filters, scoring parts, reasons, determinism, weights, scheduling's history and
availability; blocking tutors."""
import json

import pytest

from app.common.transactions import unit_of_work
from app.matching import weights
from app.scheduling import services as scheduling
from tests.conftest import assert_error
from tests.factories import (
    SubjectFactory,
    TutorProfileFactory,
    TutorSubjectFactory,
    UserFactory,
)

PARIS = {"lat": 48.8566, "lon": 2.3522}


@pytest.fixture(autouse=True)
def _fresh_weights(app):
    weights.clear_cache()
    yield
    weights.clear_cache()


def _tutor(name, subjects=(("mathematics", "secondary"),), **fields):
    defaults = {"rate_cents": 4000, "currency": "USD", "mode": "online", "verified": False, "years_experience": 5}
    defaults.update(fields)
    profile = TutorProfileFactory(user=UserFactory(roles=["tutor"], full_name=name), **defaults)
    for slug, level in subjects:
        TutorSubjectFactory(profile=profile, subject=SubjectFactory(slug=slug), level=level)
    return profile.user_id


@pytest.fixture
def field(app):
    SubjectFactory(slug="mathematics", name="Mathematics")
    return {
        "nina": _tutor("Nina Near", mode="both", latitude=48.8600, longitude=2.3500, travel_radius_km=10,
                       verified=True, rating_avg=4.9, rating_bayes=4.8, rating_count=30, teaching_styles=["visual"],
                       years_experience=8),
        "mia": _tutor("Mia Meaux", mode="both", latitude=48.9603, longitude=2.8786, travel_radius_km=10,
                      verified=True, rating_avg=4.9, rating_bayes=4.8, rating_count=30, teaching_styles=["visual"],
                      years_experience=8),
        "olga": _tutor("Olga Online", rating_avg=4.0, rating_bayes=3.9, rating_count=4, rate_cents=3000,
                       teaching_styles=["auditory"], subjects=[("mathematics", "university")]),
        "fred": _tutor("Fred Far", mode="in_person", latitude=45.7640, longitude=4.8357, verified=True,
                       rating_bayes=4.9),
        "pete": _tutor("Pete Pricey", rate_cents=9000, verified=True, rating_bayes=5.0),
        "eva": _tutor("Eva Euro", currency="EUR", rate_cents=3000, verified=True, rating_bayes=5.0),
        "phil": _tutor("Phil Physics", subjects=[("physics", "secondary")], verified=True, rating_bayes=5.0),
    }


@pytest.fixture
def learner(app):
    return UserFactory(roles=["student"], full_name="Lena Learner", learning_styles=["visual"])


def request_body(**overrides):
    body = {"subject": "mathematics", "level": "secondary", "mode": "both", "location": PARIS,
            "budget": {"max_rate_cents": 6000, "currency": "USD"}}
    body.update(overrides)
    return body


def post_match(client, auth, user, body):
    return client.post("/api/v1/matches", json=body, headers=auth.headers(user))


def test_ranks_near_verified_rated_style_matching_tutor_first_and_explains(client, auth, learner, field):
    response = post_match(client, auth, learner, request_body())
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert [m["tutor"]["id"] for m in body["matches"]] == [field["nina"], field["mia"], field["olga"]]
    assert body["candidates_considered"] == 3
    best, second, third = body["matches"]
    assert best["score"] > second["score"] > third["score"]
    assert all(0 <= m["score"] <= 1 for m in body["matches"])
    assert set(best["parts"]) == {"expertise", "rating", "price_fit", "distance", "style_fit", "availability", "history"}
    assert best["parts"]["distance"] == 1.0 and second["parts"]["distance"] < 1.0
    assert best["parts"]["style_fit"] == 1.0 and third["parts"]["style_fit"] == 0.0
    assert best["parts"]["availability"] == 0.5 and best["parts"]["history"] == 0.0
    reasons = " | ".join(best["reasons"])
    assert "Teaches Mathematics at secondary level; verified credentials" in reasons
    assert "within their 10 km travel radius" in reasons
    assert "Teaches in your learning style: visual" in reasons
    assert "Rated 4.9/5 from 30 reviews" in reasons
    assert "$" not in reasons and "40.00 USD per hour, within your budget of 60.00 USD" in reasons
    assert "not at secondary level" in " ".join(third["reasons"])
    assert body["weights"] == weights.FALLBACK_WEIGHTS


def test_mode_filters(client, auth, learner, field):
    online = post_match(client, auth, learner, request_body(mode="online")).get_json()
    assert {m["tutor"]["id"] for m in online["matches"]} == {field["nina"], field["mia"], field["olga"]}
    assert all(m["parts"]["distance"] == 0.5 for m in online["matches"])
    in_person = post_match(client, auth, learner, request_body(mode="in_person")).get_json()
    assert [m["tutor"]["id"] for m in in_person["matches"]] == [field["nina"], field["mia"]]
    lyon = post_match(client, auth, learner, request_body(mode="in_person", location={"lat": 45.76, "lon": 4.84}))
    assert [m["tutor"]["id"] for m in lyon.get_json()["matches"]] == [field["fred"]]


def test_without_budget_or_styles_parts_are_neutral(client, auth, field):
    student = UserFactory(roles=["student"])
    body = post_match(client, auth, student, {"subject": "mathematics", "level": "secondary",
                                              "mode": "online"}).get_json()
    ids = [m["tutor"]["id"] for m in body["matches"]]
    assert field["pete"] in ids and field["eva"] in ids and field["phil"] not in ids
    assert all(m["parts"]["price_fit"] == 0.5 and m["parts"]["style_fit"] == 0.5 for m in body["matches"])


def test_deterministic_with_ties_broken_by_id(client, auth, learner, app):
    SubjectFactory(slug="mathematics")
    twins = [_tutor(f"Twin {n}", verified=True, rating_bayes=4.5) for n in range(3)]
    first = post_match(client, auth, learner, request_body(mode="online"))
    second = post_match(client, auth, learner, request_body(mode="online"))
    first_body, second_body = first.get_json(), second.get_json()
    assert first_body.pop("request_id") != second_body.pop("request_id")  # each response is logged on its own
    assert first_body == second_body
    assert [m["tutor"]["id"] for m in first.get_json()["matches"]] == sorted(twins)
    assert len({m["score"] for m in first.get_json()["matches"]}) == 1


def test_blocked_tutor_never_matches(client, auth, learner, field):
    assert client.post(f"/api/v1/tutors/{field['nina']}/block", headers=auth.headers(learner)).status_code == 204
    assert client.post(f"/api/v1/tutors/{field['nina']}/block", headers=auth.headers(learner)).status_code == 204
    ids = [m["tutor"]["id"] for m in post_match(client, auth, learner, request_body()).get_json()["matches"]]
    assert field["nina"] not in ids and ids[0] == field["mia"]
    other_student = UserFactory(roles=["student"])
    other_ids = [m["tutor"]["id"] for m in post_match(client, auth, other_student, request_body()).get_json()["matches"]]
    assert field["nina"] in other_ids
    assert client.delete(f"/api/v1/tutors/{field['nina']}/block", headers=auth.headers(learner)).status_code == 204
    ids = [m["tutor"]["id"] for m in post_match(client, auth, learner, request_body()).get_json()["matches"]]
    assert ids[0] == field["nina"]


def test_block_errors(client, auth, learner, field):
    assert_error(client.post(f"/api/v1/tutors/{field['nina']}/block"), 401)
    assert_error(client.delete(f"/api/v1/tutors/{field['nina']}/block"), 401)
    tutor_only = UserFactory(roles=["tutor"])
    assert_error(client.post(f"/api/v1/tutors/{field['nina']}/block", headers=auth.headers(tutor_only)), 403)
    assert_error(client.post("/api/v1/tutors/999999/block", headers=auth.headers(learner)), 404)
    assert_error(client.post(f"/api/v1/tutors/{learner.id}/block", headers=auth.headers(learner)), 422)
    assert_error(client.delete(f"/api/v1/tutors/{field['nina']}/block", headers=auth.headers(learner)), 404)
    other = UserFactory(roles=["student"])
    client.post(f"/api/v1/tutors/{field['nina']}/block", headers=auth.headers(other))
    assert_error(client.delete(f"/api/v1/tutors/{field['nina']}/block", headers=auth.headers(learner)), 404)


@pytest.mark.parametrize("overrides,field_name", [
    ({"subject": "astrology"}, "subject"),
    ({"level": "phd"}, "level"),
    ({"mode": "teleport"}, "mode"),
    ({"mode": "in_person", "location": None}, "location"),
    ({"location": {"lat": 48.8}}, "location"),
    ({"location": {"lat": 100, "lon": 2}}, "location"),
    ({"preferred_times": [{"start": "2026-12-01T10:00:00", "end": "2026-12-01T11:00:00"}]}, "preferred_times"),
    ({"preferred_times": [{"start": "2026-12-01T11:00:00+00:00", "end": "2026-12-01T10:00:00+00:00"}]},
     "preferred_times"),
    ({"learning_styles": ["telepathic"]}, "learning_styles"),
    ({"budget": {"max_rate_cents": 5000, "currency": "XYZ"}}, "budget"),
    ({"limit": 51}, "limit"),
    ({"colour": "blue"}, "colour"),
])
def test_bad_match_input_is_422(client, auth, learner, field, overrides, field_name):
    body = request_body(**overrides)
    body = {key: value for key, value in body.items() if value is not None}
    error = assert_error(post_match(client, auth, learner, body), 422)
    assert field_name in json.dumps(error)


def test_unknown_subject_lists_valid(client, auth, learner, field):
    error = assert_error(post_match(client, auth, learner, request_body(subject="astrology")), 422)
    assert "mathematics, physics" in error["errors"]["subject"][0]


def test_match_auth(client, auth, field):
    assert_error(client.post("/api/v1/matches", json=request_body()), 401)
    assert_error(post_match(client, auth, UserFactory(roles=["tutor"]), request_body()), 403)


def test_history_and_availability_come_from_scheduling(client, auth, learner, field, monkeypatch):
    asked = []

    def availability(tutor_ids, windows):
        asked.append(windows[0][0].isoformat())
        return {tutor_id: (1.0 if tutor_id == field["mia"] else 0.0) for tutor_id in tutor_ids}

    monkeypatch.setattr(scheduling, "tutors_with_completed_sessions", lambda student_id, limit: {field["mia"]: 4})
    monkeypatch.setattr(scheduling, "availability_fractions", availability)
    body = request_body(preferred_times=[{"start": "2026-12-01T17:00:00+01:00", "end": "2026-12-01T19:00:00+01:00"}])
    matches = post_match(client, auth, learner, body).get_json()["matches"]
    assert asked and set(asked) == {"2026-12-01T17:00:00+01:00"}
    mia = next(m for m in matches if m["tutor"]["id"] == field["mia"])
    assert mia["parts"]["history"] == 1.0 and mia["parts"]["availability"] == 1.0
    assert "You have completed 4 sessions together" in mia["reasons"]
    assert "Free for 100% of your preferred times" in mia["reasons"]
    assert matches[0]["tutor"]["id"] == field["mia"]


def test_history_counts_are_asked_about_every_candidate_when_the_history_is_cut(client, auth, learner, field,
                                                                                  monkeypatch):
    """A student with more tutors than the history stream takes: the other candidates' sessions are counted."""
    from app.matching import services

    calls = []

    def counts(student_id, tutor_ids):
        calls.append((student_id, sorted(tutor_ids)))
        return {field["mia"]: 4}

    monkeypatch.setattr(services, "HISTORY_CANDIDATE_LIMIT", 0)
    monkeypatch.setattr(scheduling, "completed_session_counts", counts)
    matches = post_match(client, auth, learner, request_body()).get_json()["matches"]
    assert calls == [(learner.id, sorted([field["nina"], field["mia"], field["olga"]]))]
    assert next(m for m in matches if m["tutor"]["id"] == field["mia"])["parts"]["history"] == 1.0


def test_weights_come_from_the_table(client, auth, learner, field):
    with unit_of_work():
        weights.set_weights({"expertise": 0, "rating": 0, "price_fit": 1, "distance": 0, "style_fit": 0,
                             "availability": 0, "history": 0})
    body = post_match(client, auth, learner, request_body(mode="online")).get_json()
    assert body["weights"]["price_fit"] == 1.0 and body["weights"]["rating"] == 0.0
    assert body["matches"][0]["tutor"]["id"] == field["olga"]
    assert body["matches"][0]["score"] == body["matches"][0]["parts"]["price_fit"]
    with pytest.raises(ValueError), unit_of_work():
        weights.set_weights({"charisma": 1})


def test_new_weights_apply_once_committed(client, auth, learner, field):
    """A rolled-back change never reaches the cache; a committed one replaces it at once."""
    assert weights.current_weights() == weights.FALLBACK_WEIGHTS
    price_only = {"expertise": 0, "rating": 0, "price_fit": 1, "distance": 0, "style_fit": 0, "availability": 0,
                  "history": 0}
    with pytest.raises(RuntimeError), unit_of_work():
        weights.set_weights(price_only)
        raise RuntimeError("the caller fails")
    assert weights.current_weights() == weights.FALLBACK_WEIGHTS
    with unit_of_work():
        weights.set_weights(price_only)
    assert weights.current_weights() == {name: float(value) for name, value in price_only.items()}
