"""Redis stopped mid-run under a real server process (the app's Redis, rate limiter and queues on a redis-server
of the test's own): authenticated requests answer 503 with Retry-After, logins and public reads keep working,
/health answers 503; once Redis is back, everything answers again."""
import requests
import sqlalchemy as sa

from app.notifications.models import OutboxMessage
from tests.factories import DEFAULT_PASSWORD, ReviewFactory, TutorProfileFactory, UserFactory


def _login(base, email):
    return requests.post(f"{base}/api/v1/auth/login", json={"email": email, "password": DEFAULT_PASSWORD}, timeout=30)


def _get(base, path, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(f"{base}{path}", headers=headers, timeout=30)


def _assert_unavailable(response):
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["code"] == 503 and body["status"] == "Service Unavailable"
    assert int(response.headers["Retry-After"]) > 0
    return body


def _public_reads(base, review, profile):
    return {path: _get(base, path).status_code for path in (
        "/api/v1/tutors", f"/api/v1/tutors/{profile.user_id}", f"/api/v1/tutors/{review.tutor_id}/reviews",
        f"/api/v1/tutors/{review.tutor_id}/rating-summary", "/api/v1/subjects")}


def test_redis_stopped_mid_run(db, redis_server, start_child):
    user = UserFactory()
    review, profile = ReviewFactory(), TutorProfileFactory()
    base = start_child("serve", REDIS_URL=redis_server.url).base_url

    login = _login(base, user.email)
    assert login.status_code == 200, login.text
    token = login.json()["access_token"]
    assert _get(base, "/api/v1/users/me", token).status_code == 200
    assert _get(base, "/api/v1/health").status_code == 200

    redis_server.kill()
    for _ in range(2):  # the pooled connection that died, then a fresh connection refused
        _assert_unavailable(_get(base, "/api/v1/users/me", token))
    _assert_unavailable(requests.post(f"{base}/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"},
                                      timeout=30))
    # A login answers 503 too: its failed-login lockouts count in Redis (failing open would lift them), and the
    # token it gave could not be used before Redis is back. Rate limits count in memory (flask-limiter's fallback).
    _assert_unavailable(_login(base, user.email))
    assert set(_public_reads(base, review, profile).values()) == {200}
    signup = requests.post(f"{base}/api/v1/auth/signup", timeout=30, json={
        "email": "new@example.com", "password": DEFAULT_PASSWORD, "full_name": "New Person", "roles": ["student"],
        "timezone": "UTC"})
    assert signup.status_code == 201, signup.text  # its confirmation email waits in the outbox
    health = _get(base, "/api/v1/health")
    assert _assert_unavailable(health)["errors"]["redis"].startswith("error:")

    pending = sa.select(OutboxMessage.status).where(OutboxMessage.recipient == "new@example.com")
    assert db.session.scalars(pending).all() == ["pending"]

    redis_server.start()  # same port, empty: the server recovers without a restart
    assert _get(base, "/api/v1/users/me", token).status_code == 200
    assert _get(base, "/api/v1/health").status_code == 200
    assert _login(base, user.email).status_code == 200


def test_redis_restarted_while_idle(redis_server, start_child):
    """Redis restarts between two requests: the pooled connections it dropped are retried on a new one."""
    user = UserFactory()
    base = start_child("serve", REDIS_URL=redis_server.url).base_url
    token = _login(base, user.email).json()["access_token"]
    assert _get(base, "/api/v1/users/me", token).status_code == 200

    redis_server.kill()
    redis_server.start()
    assert _get(base, "/api/v1/users/me", token).status_code == 200
    assert _get(base, "/api/v1/health").status_code == 200
