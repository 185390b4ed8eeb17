"""GET/PUT /tutors/me/availability and the live `availability:changed` event."""
import pytest

from app.extensions import socketio
from tests.conftest import assert_error
from tests.factories import TutorFactory, UserFactory
from tests.scheduling.conftest import utc

DOCUMENT = {
    "rules": [{"weekday": 0, "start": "09:00", "end": "12:00"}, {"weekday": 0, "start": "14:00", "end": "18:00"},
              {"weekday": 4, "start": "20:00", "end": "24:00"}],
    "overrides": [{"date": "2026-12-24"}, {"date": "2026-12-28", "start": "10:00", "end": "12:00"}],
    "settings": {"timezone": "America/New_York", "session_lengths": [30, 60, 90], "buffer_after_minutes": 10,
                 "instant_booking": True},
}


def test_put_then_get_availability(client, auth):
    tutor = TutorFactory(timezone="Europe/Madrid")
    response = client.get("/api/v1/tutors/me/availability", headers=auth.headers(tutor))
    assert response.status_code == 200
    body = response.get_json()
    assert body["timezone"] == "Europe/Madrid" and body["rules"] == []
    assert body["settings"]["session_lengths"] == [30, 60] and body["settings"]["min_notice_minutes"] == 720

    response = client.put("/api/v1/tutors/me/availability", json=DOCUMENT, headers=auth.headers(tutor))
    assert response.status_code == 200, response.get_json()
    body = client.get("/api/v1/tutors/me/availability", headers=auth.headers(tutor)).get_json()
    assert body["timezone"] == "America/New_York"
    assert body["rules"] == DOCUMENT["rules"]
    assert body["overrides"] == [{"date": "2026-12-24", "start": None, "end": None},
                                 {"date": "2026-12-28", "start": "10:00", "end": "12:00"}]
    assert body["settings"]["instant_booking"] is True and body["settings"]["buffer_after_minutes"] == 10

    # A second PUT replaces rules and overrides; settings not sent keep their values.
    document = {"rules": [{"weekday": 2, "start": "08:30", "end": "11:00"}], "overrides": []}
    body = client.put("/api/v1/tutors/me/availability", json=document, headers=auth.headers(tutor)).get_json()
    assert body["rules"] == document["rules"] and body["overrides"] == []
    assert body["settings"]["session_lengths"] == [30, 60, 90]


@pytest.mark.parametrize("document, field", [
    ({"settings": {"timezone": "Mars/Olympus"}}, "settings"),
    ({"rules": [{"weekday": 7, "start": "09:00", "end": "10:00"}]}, "rules"),
    ({"rules": [{"weekday": 1, "start": "10:00", "end": "09:00"}]}, "rules"),
    ({"rules": [{"weekday": 1, "start": "9am", "end": "10:00"}]}, "rules"),
    ({"rules": [{"weekday": 1, "start": "24:30", "end": "10:00"}]}, "rules"),
    ({"overrides": [{"date": "2026-12-24", "start": "10:00"}]}, "overrides"),
    ({"settings": {"session_lengths": [30, 30]}}, "settings"),
    ({"settings": {"buffer_before_minutes": -5}}, "settings"),
    ({"settings": {"surprise": 1}}, "settings"),
])
def test_put_bad_input(client, auth, document, field):
    tutor = TutorFactory()
    document = {"rules": [], "overrides": [], **document}
    body = assert_error(client.put("/api/v1/tutors/me/availability", json=document, headers=auth.headers(tutor)), 422)
    assert field in str(body.get("errors"))


@pytest.mark.parametrize("kwargs, missing", [
    ({}, "rules"),
    ({"data": "", "content_type": "application/json"}, "rules"),
    ({"json": {}}, "rules"),
    ({"json": {"overrides": [], "settings": {"instant_booking": True}}}, "rules"),
    ({"json": {"settings": {"instant_booking": True}}}, "rules"),
])
def test_put_without_rules_keeps_the_week(client, auth, kwargs, missing):
    """A missing body, or one without `rules`, is 422 and deletes nothing; clearing is explicit."""
    tutor = TutorFactory()
    headers = auth.headers(tutor)
    assert client.put("/api/v1/tutors/me/availability", json=DOCUMENT, headers=headers).status_code == 200
    body = assert_error(client.put("/api/v1/tutors/me/availability", headers=headers, **kwargs), 422)
    assert missing in body["errors"]
    kept = client.get("/api/v1/tutors/me/availability", headers=headers).get_json()
    assert kept["rules"] == DOCUMENT["rules"] and len(kept["overrides"]) == 2
    assert kept["settings"]["instant_booking"] is True

    cleared = client.put("/api/v1/tutors/me/availability", json={"rules": [], "overrides": []}, headers=headers)
    assert cleared.status_code == 200
    assert cleared.get_json()["rules"] == [] and cleared.get_json()["overrides"] == []
    assert cleared.get_json()["settings"]["instant_booking"] is True


def test_rules_alone_clear_the_week_and_keep_the_overrides(client, auth):
    tutor = TutorFactory()
    headers = auth.headers(tutor)
    assert client.put("/api/v1/tutors/me/availability", json=DOCUMENT, headers=headers).status_code == 200
    cleared = client.put("/api/v1/tutors/me/availability", json={"rules": []}, headers=headers)
    assert cleared.status_code == 200, cleared.get_json()
    assert cleared.get_json()["rules"] == [] and len(cleared.get_json()["overrides"]) == 2


def test_overlapping_rules_are_rejected(client, auth):
    tutor = TutorFactory()
    document = {"rules": [{"weekday": 1, "start": "09:00", "end": "11:00"}, {"weekday": 1, "start": "10:00", "end": "12:00"}],
                "overrides": []}
    assert_error(client.put("/api/v1/tutors/me/availability", json=document, headers=auth.headers(tutor)), 422, "overlap")


def test_availability_needs_tutor_role_and_login(client, auth):
    student = UserFactory()
    assert_error(client.get("/api/v1/tutors/me/availability", headers=auth.headers(student)), 403)
    assert_error(client.put("/api/v1/tutors/me/availability", json={}, headers=auth.headers(student)), 403)
    assert_error(client.get("/api/v1/tutors/me/availability"), 401)


def test_subscribers_hear_availability_changes(app, client, auth, freeze):
    tutor = TutorFactory()
    watcher = UserFactory()
    bystander = UserFactory()
    io = socketio.test_client(app, auth={"token": auth.tokens(watcher)["access_token"]})
    other = socketio.test_client(app, auth={"token": auth.tokens(bystander)["access_token"]})
    ack = io.emit("subscribe", {"tutor_id": tutor.id}, callback=True)
    assert ack == {"ok": True, "room": f"tutor:{tutor.id}"}
    io.get_received()
    client.put("/api/v1/tutors/me/availability", json=DOCUMENT, headers=auth.headers(tutor))
    events = [event for event in io.get_received() if event["name"] == "availability:changed"]
    assert events == [{"name": "availability:changed", "args": [{"tutor_id": tutor.id}], "namespace": "/"}]
    assert not [event for event in other.get_received() if event["name"] == "availability:changed"]

    # A booking and its cancellation change the slots too.
    freeze(utc(2026, 12, 20))
    student = UserFactory()
    response = client.post("/api/v1/bookings", json={"tutor_id": tutor.id, "start": "2026-12-21T14:00:00Z",
                                                     "duration": 60, "subject": "algebra"}, headers=auth.headers(student))
    assert response.status_code == 201, response.get_json()
    client.post(f"/api/v1/bookings/{response.get_json()['id']}/cancel", json={"reason": "oops"},
                headers=auth.headers(student))
    names = [event["name"] for event in io.get_received()]
    assert names.count("availability:changed") == 2
    io.disconnect()
    other.disconnect()


def test_subscribe_bad_input(app, auth):
    user = UserFactory()
    io = socketio.test_client(app, auth={"token": auth.tokens(user)["access_token"]})
    assert io.emit("subscribe", {"tutor_id": "x"}, callback=True)["error"]["code"] == 422
    assert io.emit("subscribe", {}, callback=True)["error"]["code"] == 422
    assert io.emit("subscribe", {"tutor_id": user.id}, callback=True)["error"]["code"] == 404
    io.disconnect()


def test_policy_without_settings_row_is_the_column_defaults(app):
    """policy_from_row's defaults (made once) are what an unsaved settings row holds, in the user's zone."""
    from app.scheduling.availability import _default_settings, _policy, policy_from_row

    defaults = _default_settings(1)
    assert policy_from_row(1, "Asia/Tokyo", None) == _policy(defaults, "Asia/Tokyo")
    assert policy_from_row(1, None, None) == _policy(defaults, "UTC")
    assert policy_from_row(1, None, None).min_notice == 720
