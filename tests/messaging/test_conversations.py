"""REST conversations: open, list (last message, unread, no N+1), get; authz."""
import threading

import pytest
import sqlalchemy as sa

from app.common.transactions import unit_of_work
from app.messaging import services
from app.messaging.models import Conversation
from tests.conftest import assert_error
from tests.factories import UserFactory
from tests.messaging.conftest import committed, send

URL = "/api/v1/conversations"


def test_open_conversation_creates_once_per_unordered_pair(client, auth, student, tutor, db):
    first = client.post(URL, json={"user_id": tutor.id}, headers=auth.headers(student))
    assert first.status_code == 201
    again = client.post(URL, json={"user_id": student.id}, headers=auth.headers(tutor))
    assert again.status_code == 200
    assert again.get_json()["id"] == first.get_json()["id"]
    body = first.get_json()
    assert body["kind"] == "pair"
    assert [p["id"] for p in body["participants"]] == sorted([student.id, tutor.id])
    assert body["last_message"] is None and body["unread_count"] == 0
    assert db.session.scalar(sa.select(sa.func.count(Conversation.id))) == 1


@pytest.mark.postgres
def test_concurrent_opens_of_one_pair_make_one_conversation(app, db, student, tutor):
    """The loser of the unique key gets the winner's row, its own transaction still usable (a savepoint)."""
    ids, errors = [], []
    users = [(student.id, tutor.id), (tutor.id, student.id)] * 3
    barrier = threading.Barrier(len(users))

    def opener(user_id, other_id):
        with app.app_context():
            try:
                barrier.wait(5)
                with unit_of_work():
                    conversation, _created = services.get_or_create_pair(user_id, other_id)
                    ids.append(conversation.id)
                    db.session.execute(services.list_query(user_id)).all()  # usable after a lost race
            except Exception as error:  # noqa: BLE001 (reported below)
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=opener, args=pair) for pair in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert errors == []
    assert len(set(ids)) == 1 and len(ids) == len(users)
    assert db.session.scalar(sa.select(sa.func.count(Conversation.id))) == 1


def test_a_lost_insert_race_returns_the_winners_row_and_keeps_the_transaction(db, pair, student, tutor):
    from app.messaging import conversations
    from app.messaging.models import ConversationParticipant

    low, high = sorted((student.id, tutor.id))
    winner_id = pair.id
    stmt = sa.select(Conversation).where(Conversation.user_low_id == low, Conversation.user_high_id == high)
    late = Conversation(kind="pair", user_low_id=low, user_high_id=high)
    late.participants = [ConversationParticipant(user_id=low), ConversationParticipant(user_id=high)]
    with unit_of_work():
        found, created = conversations._insert_or_fetch(late, stmt)
        assert (found.id, created) == (winner_id, False)
        assert db.session.scalar(sa.select(sa.func.count(Conversation.id))) == 1  # the transaction goes on
    assert db.session.scalar(sa.select(sa.func.count(Conversation.id))) == 1


def test_open_conversation_bad_input(client, auth, student):
    assert_error(client.post(URL, json={"user_id": student.id}, headers=auth.headers(student)), 422)
    assert_error(client.post(URL, json={"user_id": "x"}, headers=auth.headers(student)), 422)
    assert_error(client.post(URL, json={"user_id": 1, "extra": 1}, headers=auth.headers(student)), 422)
    assert_error(client.post(URL, json={"user_id": 999999}, headers=auth.headers(student)), 404)


def test_open_conversation_requires_auth(client):
    assert_error(client.post(URL, json={"user_id": 1}), 401)
    assert_error(client.get(URL), 401)


def test_open_conversation_with_user_who_blocked_me_is_403(client, auth, student, tutor):
    client.post(f"/api/v1/users/{student.id}/block", headers=auth.headers(tutor))
    assert_error(client.post(URL, json={"user_id": tutor.id}, headers=auth.headers(student)), 403)


def test_list_shows_last_message_and_unread_count(client, auth, student, tutor, pair):
    send(student.id, pair.id, "one")
    send(student.id, pair.id, "two")
    send(tutor.id, pair.id, "three")
    as_tutor = client.get(URL, headers=auth.headers(tutor)).get_json()
    assert len(as_tutor) == 1
    assert as_tutor[0]["last_message"]["body"] == "three"
    assert as_tutor[0]["unread_count"] == 2  # own messages are never unread
    as_student = client.get(URL, headers=auth.headers(student)).get_json()
    assert as_student[0]["unread_count"] == 1


def test_list_is_ordered_by_activity_and_only_mine(client, auth, student, tutor, outsider):
    older, _ = committed(services.get_or_create_pair, student.id, tutor.id)
    newer, _ = committed(services.get_or_create_pair, student.id, outsider.id)
    committed(services.get_or_create_pair, tutor.id, outsider.id)
    send(student.id, older.id, "bump")
    ids = [c["id"] for c in client.get(URL, headers=auth.headers(student)).get_json()]
    assert ids == [older.id, newer.id]


def _count_queries(db, fn):
    statements = []

    def before(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", before)
    try:
        fn()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", before)
    return len(statements)


def test_list_has_no_n_plus_one(client, auth, student, db):
    headers = auth.headers(student)

    def make(n):
        for _ in range(n):
            other = UserFactory()
            conversation, _ = committed(services.get_or_create_pair, student.id, other.id)
            send(other.id, conversation.id, "hi")

    make(2)
    few = _count_queries(db, lambda: client.get(URL, headers=headers))
    make(8)
    many = _count_queries(db, lambda: client.get(URL, headers=headers))
    assert len(client.get(URL, headers=headers).get_json()) == 10
    assert many == few


def test_get_conversation_authz(client, auth, pair, student, outsider):
    assert client.get(f"{URL}/{pair.id}", headers=auth.headers(student)).status_code == 200
    assert_error(client.get(f"{URL}/{pair.id}", headers=auth.headers(outsider)), 404)
    assert_error(client.get(f"{URL}/{pair.id}"), 401)


def test_booking_conversation_is_unique_and_adds_participants(student, tutor, outsider):
    from tests.factories import BookingFactory

    booking, other_booking = BookingFactory(student=student), BookingFactory()
    first = committed(services.add_booking_conversation, booking.id, [student.id, tutor.id])
    again = committed(services.add_booking_conversation, booking.id, [tutor.id, student.id, outsider.id])
    assert again.id == first.id
    assert again.kind == "booking" and again.booking_id == booking.id
    assert again.participant_ids == sorted([student.id, tutor.id, outsider.id])
    other = committed(services.add_booking_conversation, other_booking.id, [student.id, tutor.id])
    assert other.id != first.id
