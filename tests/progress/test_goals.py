"""Learning goals: GET/POST /goals, GET/PATCH/DELETE /goals/{id}."""
from datetime import timedelta

import pytest

from app.common.time import utcnow
from app.progress.models import LEVELS
from app.tutors.models import LEVELS as TUTOR_LEVELS
from tests.conftest import assert_error

TOMORROW = (utcnow() + timedelta(days=1)).date().isoformat()
GOAL = {"subject": "calculus", "target_level": "university", "target_hours": 20, "target_date": "2030-06-01",
        "note": "AP exam"}


def _create(client, auth, user, **changes):
    response = client.post("/api/v1/goals", json={**GOAL, **changes}, headers=auth.headers(user))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_levels_are_the_levels_tutors_teach_at():
    assert LEVELS == TUTOR_LEVELS


def test_create_list_get_patch_delete(client, auth, student):
    created = _create(client, auth, student)
    assert {k: created[k] for k in GOAL} == GOAL
    assert isinstance(created["id"], int) and created["created_at"].endswith("+00:00")
    second = _create(client, auth, student, subject="statistics", target_level=None, target_hours=5,
                     target_date=TOMORROW, note=None)
    assert second["target_level"] is None and second["note"] == "" and second["target_date"] == TOMORROW

    listed = client.get("/api/v1/goals", headers=auth.headers(student))
    assert listed.status_code == 200
    assert [goal["id"] for goal in listed.get_json()] == [created["id"], second["id"]]
    assert '"total": 2' in listed.headers["X-Pagination"]

    url = f"/api/v1/goals/{created['id']}"
    assert client.get(url, headers=auth.headers(student)).get_json() == created
    patched = client.patch(url, json={"target_hours": 30, "target_level": None, "note": "More practice"},
                           headers=auth.headers(student))
    assert patched.status_code == 200
    body = patched.get_json()
    assert (body["target_hours"], body["target_level"], body["note"], body["subject"]) == (
        30, None, "More practice", "calculus")

    assert client.delete(url, headers=auth.headers(student)).status_code == 204
    assert_error(client.get(url, headers=auth.headers(student)), 404)
    assert [goal["id"] for goal in client.get("/api/v1/goals", headers=auth.headers(student)).get_json()] == [
        second["id"]]


@pytest.mark.parametrize(("changes", "field"), [
    ({"subject": "astrology"}, "subject"),
    ({"target_date": utcnow().date().isoformat()}, "target_date"),
    ({"target_date": "2020-01-01"}, "target_date"),
    ({"target_date": "2030-02-30"}, "target_date"),
    ({"target_hours": 0}, "target_hours"),
    ({"target_hours": 1001}, "target_hours"),
    ({"target_hours": "20"}, "target_hours"),
    ({"target_level": "expert"}, "target_level"),
    ({"target_level": None, "target_hours": None}, "target_hours"),
    ({"note": "x" * 501}, "note"),
    ({"colour": "blue"}, "colour"),
    ({"subject": ""}, "subject"),
])
def test_create_rejects_bad_input(client, auth, student, changes, field):
    body = assert_error(client.post("/api/v1/goals", json={**GOAL, **changes}, headers=auth.headers(student)), 422)
    assert field in body["errors"], body


def test_create_needs_subject_and_date(client, auth, student):
    body = assert_error(client.post("/api/v1/goals", json={"target_hours": 3}, headers=auth.headers(student)), 422)
    assert {"subject", "target_date"} <= set(body["errors"])


def test_hours_bounds_are_inclusive(client, auth, student):
    assert _create(client, auth, student, target_hours=1)["target_hours"] == 1
    assert _create(client, auth, student, target_hours=1000)["target_hours"] == 1000


@pytest.mark.parametrize(("changes", "field"), [
    ({"target_level": None, "target_hours": None}, "target_hours"),
    ({"subject": "astrology"}, "subject"),
    ({"target_hours": 1001}, "target_hours"),
    ({"target_date": None}, "target_date"),
    ({"id": 5}, "id"),
])
def test_patch_rejects_bad_input(client, auth, student, changes, field):
    goal = _create(client, auth, student)
    response = client.patch(f"/api/v1/goals/{goal['id']}", json=changes, headers=auth.headers(student))
    body = assert_error(response, 422)
    assert field in body["errors"], body
    assert client.get(f"/api/v1/goals/{goal['id']}", headers=auth.headers(student)).get_json() == goal


def test_another_students_goal_is_404(client, auth, student, other_student):
    goal = _create(client, auth, student)
    url = f"/api/v1/goals/{goal['id']}"
    headers = auth.headers(other_student)
    assert_error(client.get(url, headers=headers), 404)
    assert_error(client.patch(url, json={"target_hours": 2}, headers=headers), 404)
    assert_error(client.delete(url, headers=headers), 404)
    assert client.get("/api/v1/goals", headers=headers).get_json() == []
    assert_error(client.get("/api/v1/goals/99999999", headers=auth.headers(student)), 404)
    assert client.get(url, headers=auth.headers(student)).get_json() == goal


def test_goals_are_for_students(client, auth, tutor, student):
    goal = _create(client, auth, student)
    assert_error(client.get("/api/v1/goals"), 401)
    assert_error(client.post("/api/v1/goals", json=GOAL), 401)
    assert_error(client.get("/api/v1/goals", headers=auth.headers(tutor)), 403)
    assert_error(client.post("/api/v1/goals", json=GOAL, headers=auth.headers(tutor)), 403)
    assert_error(client.get(f"/api/v1/goals/{goal['id']}", headers=auth.headers(tutor)), 403)
