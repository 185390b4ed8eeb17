"""In-app notifications: list (paginated, unread filter), mark read, read-all, live notification:new."""
import json

import pytest
import sqlalchemy as sa

from app.common.time import utcnow
from app.common.transactions import unit_of_work
from app.extensions import db as _db
from app.extensions import socketio
from app.notifications import services
from app.notifications.models import Notification
from tests.conftest import assert_error
from tests.factories import NotificationFactory, UserFactory

URL = "/api/v1/notifications"


def test_list_newest_first_with_unread_filter_and_pagination(client, auth):
    user = UserFactory()
    first = NotificationFactory(user_id=user.id, title="first")
    second = NotificationFactory(user_id=user.id, title="second", read_at=utcnow())
    third = NotificationFactory(user_id=user.id, title="third")
    NotificationFactory()  # someone else's
    headers = auth.headers(user)
    response = client.get(URL, headers=headers)
    assert [n["id"] for n in response.get_json()] == [third.id, second.id, first.id]
    assert json.loads(response.headers["X-Pagination"])["total"] == 3
    unread = client.get(URL, query_string={"unread": "true"}, headers=headers).get_json()
    assert [n["title"] for n in unread] == ["third", "first"]
    read = client.get(URL, query_string={"unread": "false"}, headers=headers).get_json()
    assert [n["title"] for n in read] == ["second"]
    page = client.get(URL, query_string={"page_size": 1, "page": 2}, headers=headers).get_json()
    assert [n["id"] for n in page] == [second.id]


def test_list_bad_input_and_auth(client, auth):
    user = UserFactory()
    assert_error(client.get(URL, query_string={"unread": "maybe"}, headers=auth.headers(user)), 422)
    assert_error(client.get(URL, query_string={"page_size": 1000}, headers=auth.headers(user)), 422)
    assert_error(client.get(URL), 401)


def test_mark_read_and_read_all(client, auth):
    user = UserFactory()
    one = NotificationFactory(user_id=user.id)
    NotificationFactory(user_id=user.id)
    NotificationFactory(user_id=user.id)
    headers = auth.headers(user)
    response = client.post(f"{URL}/{one.id}/read", headers=headers)
    assert response.status_code == 200 and response.get_json()["read_at"] is not None
    again = client.post(f"{URL}/{one.id}/read", headers=headers).get_json()
    assert again["read_at"] == response.get_json()["read_at"]
    assert client.post(f"{URL}/read-all", headers=headers).get_json() == {"updated": 2}
    assert client.post(f"{URL}/read-all", headers=headers).get_json() == {"updated": 0}
    assert services.unread_notification_count(user.id) == 0


def test_mark_read_of_another_users_notification_is_404(client, auth):
    mine, theirs = UserFactory(), NotificationFactory()
    assert_error(client.post(f"{URL}/{theirs.id}/read", headers=auth.headers(mine)), 404)
    assert_error(client.post(f"{URL}/999999/read", headers=auth.headers(mine)), 404)
    assert_error(client.post(f"{URL}/{theirs.id}/read"), 401)
    assert_error(client.post(f"{URL}/read-all"), 401)


def test_notify_emits_after_commit_only(app, auth):
    user = UserFactory()
    listener = socketio.test_client(app, auth={"token": auth.tokens(user)["access_token"]})
    listener.get_received()
    with pytest.raises(Boom), unit_of_work():
        services.notify(user.id, "message", "Rolled back", "x", {})
        raise Boom
    with unit_of_work():
        notification = services.notify(user.id, "message", "New message", "hello", {"conversation_id": 1})
        assert listener.get_received() == []  # nothing before commit
    received = [e for e in listener.get_received() if e["name"] == "notification:new"]
    assert len(received) == 1
    payload = received[0]["args"][0]
    assert payload == services.notification_dict(notification)
    assert payload["title"] == "New message" and payload["data"] == {"conversation_id": 1}
    assert payload["id"] and payload["read_at"] is None
    assert _db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 1
    listener.disconnect()


def test_long_titles_are_cut(db):
    user = UserFactory()
    with unit_of_work():
        notification = services.notify(user.id, "generic", "T" * 300)
    assert notification.title == "T" * services.TITLE_MAX


def test_the_insert_builder_cuts_titles_and_returns_what_is_announced(db):
    user = UserFactory()
    rows = sa.select(sa.literal(user.id).label("user_id"), sa.literal("generic").label("kind"),
                     sa.literal("T" * 300).label("title"), sa.literal("body").label("body"),
                     sa.literal({"k": 1}, type_=Notification.__table__.c.data.type).label("data"),
                     sa.literal(utcnow(), type_=Notification.__table__.c.created_at.type).label("created_at"))
    with unit_of_work():
        [row] = _db.session.execute(services.insert_notifications_from(rows)).all()
        services.announce_created([row])
    stored = _db.session.get(Notification, row.id)
    assert services.notification_dict(row) == services.notification_dict(stored)
    assert stored.title == "T" * services.TITLE_MAX and stored.data == {"k": 1} and stored.read_at is None


class Boom(Exception):
    pass
