"""The activity log: sign-ins, refreshes, messages and booking changes upsert one row per user, day and kind."""
import sqlalchemy as sa

from tests.factories import UserFactory


def _activity():
    from app.analytics.models import ActivityDay
    from app.extensions import db

    return sorted((row.user_id, row.kind, row.count) for row in db.session.scalars(sa.select(ActivityDay)))


def test_sign_ins_are_logged_once_per_day_with_a_count(client):
    from tests.factories import DEFAULT_PASSWORD

    user = UserFactory(email="active@example.com")
    for _ in range(2):
        response = client.post("/api/v1/auth/login", json={"email": user.email, "password": DEFAULT_PASSWORD})
        assert response.status_code == 200, response.get_json()
    refresh = response.get_json()["refresh_token"]
    assert client.post("/api/v1/auth/refresh", headers={"Authorization": f"Bearer {refresh}"}).status_code == 200
    assert _activity() == [(user.id, "login", 2)]  # a token refresh is not a sign-in


def test_failed_login_is_not_logged(client):
    user = UserFactory()
    response = client.post("/api/v1/auth/login", json={"email": user.email, "password": "wrong-password-1"})
    assert response.status_code == 401
    assert _activity() == []


def test_messages_are_chat_activity(client, auth):
    a, b = UserFactory(), UserFactory()
    headers = auth.headers(a)
    conversation = client.post("/api/v1/conversations", json={"user_id": b.id}, headers=headers)
    assert conversation.status_code in (200, 201), conversation.get_json()
    conversation_id = conversation.get_json()["id"]
    for text in ("hello", "there"):
        sent = client.post(f"/api/v1/conversations/{conversation_id}/messages", json={"body": text},
                           headers=headers)
        assert sent.status_code == 201, sent.get_json()
    assert (a.id, "chat", 2) in _activity()
    assert not [row for row in _activity() if row[0] == b.id]


def test_socket_connection_is_api_activity(app):
    from app.analytics import subscribers

    user = UserFactory()
    subscribers.record_connection(user_id=user.id, sid="abc")
    subscribers.record_connection(user_id=user.id, sid="def")
    assert _activity() == [(user.id, "api", 2)]


def test_portal_sign_in_is_logged(app):
    from app.auth import services as auth_services
    from app.common.transactions import unit_of_work

    user = UserFactory(roles=["admin"])
    with unit_of_work():
        auth_services.record_login(user)
    assert _activity() == [(user.id, "login", 1)]


def test_record_activity_ignores_unknown_kinds(app):
    from app.analytics import services
    from app.common.transactions import unit_of_work

    user = UserFactory()
    with unit_of_work():
        services.record_activity(user.id, "teleport")
        services.record_activity(None, "login")
    assert _activity() == []
