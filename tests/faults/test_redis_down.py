"""Redis unreachable, in process: authenticated requests answer 503 with Retry-After, public reads keep working."""
import redis

from tests.conftest import assert_error, free_port
from tests.factories import ReviewFactory, TutorProfileFactory, UserFactory


def _assert_unavailable(response):
    body = assert_error(response, 503)
    assert body["status"] == "Service Unavailable"
    assert int(response.headers["Retry-After"]) > 0
    return body


def test_authenticated_request_answers_503_with_retry_after(client, auth, dead_redis):
    user = UserFactory()
    headers = auth.headers(user)
    _assert_unavailable(client.get("/api/v1/users/me", headers=headers))


def test_retry_after_follows_the_configuration(client, app, auth, dead_redis, monkeypatch):
    monkeypatch.setitem(app.config, "SERVICE_UNAVAILABLE_RETRY_AFTER", 17)
    response = client.get("/api/v1/users/me", headers=auth.headers(UserFactory()))
    _assert_unavailable(response)
    assert response.headers["Retry-After"] == "17"


def test_refresh_and_logout_answer_503(client, auth, dead_redis):
    tokens = auth.tokens(UserFactory())
    _assert_unavailable(client.post("/api/v1/auth/refresh",
                                    headers={"Authorization": f"Bearer {tokens['refresh_token']}"}))
    _assert_unavailable(client.post("/api/v1/auth/logout",
                                    headers={"Authorization": f"Bearer {tokens['access_token']}"}))


def test_public_reads_keep_working(client, dead_redis):
    profile = TutorProfileFactory()
    review = ReviewFactory()
    assert client.get("/api/v1/tutors").status_code == 200
    assert client.get(f"/api/v1/tutors/{profile.user_id}").status_code == 200
    assert client.get(f"/api/v1/tutors/{review.tutor_id}/reviews").status_code == 200
    assert client.get(f"/api/v1/tutors/{review.tutor_id}/rating-summary").status_code == 200
    assert client.get("/api/v1/subjects").status_code == 200


def test_health_answers_503_naming_the_dependency_down(client, dead_redis):
    response = client.get("/api/v1/health")
    body = _assert_unavailable(response)
    assert body["errors"] == {"database": "ok", "redis": "error: ConnectionError"}
    assert "redis" in body["message"]


def test_socket_event_acks_503_and_connect_is_refused(app, auth, monkeypatch):
    from app.extensions import socketio

    token = auth.tokens(UserFactory())["access_token"]
    client = socketio.test_client(app, auth={"token": token})
    assert client.is_connected()
    dead = redis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")
    monkeypatch.setitem(app.extensions, "redis", dead)
    ack = client.emit("presence:heartbeat", {}, callback=True)
    assert ack["ok"] is False and ack["error"]["code"] == 503
    client.disconnect()

    refused = socketio.test_client(app, auth={"token": token})
    assert not refused.is_connected()
