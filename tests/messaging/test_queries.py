"""The send's writes: PostgreSQL's one statement against its portable twin, row for row; the standalone path."""
import pytest
import sqlalchemy as sa

from app.common.time import utcnow
from app.common.transactions import unit_of_work
from app.messaging import queries, services
from app.messaging.models import Conversation, Message
from app.notifications import services as notifications
from app.notifications.models import Notification
from tests.factories import BookingFactory
from tests.messaging.conftest import committed

pytestmark = pytest.mark.postgres


def _params(conversation_id, sender_id, client_id, body="hello"):
    return {"cid": conversation_id, "sender": sender_id, "body": body, "client_id": client_id, "now": utcnow(),
            "preview": body[:140]}


def _outcome(db, written, params):
    """What a write left behind, without the ids that differ between two runs."""
    if written is None:
        return None
    message_id, rows = written
    message = db.session.get(Message, message_id)
    stamp = db.session.execute(sa.select(Conversation.last_message_id, Conversation.last_message_at)
                               .where(Conversation.id == params["cid"])).one()
    stored = db.session.scalars(sa.select(Notification).where(Notification.data["message_id"].as_integer() == message_id)).all()
    # what is announced (notification.created) is what is stored
    assert {r.id: notifications.notification_dict(r) for r in rows} == {
        n.id: notifications.notification_dict(n) for n in stored}
    assert tuple(stamp) == (message_id, params["now"])
    return {
        "message": (message.conversation_id, message.sender_id, message.body, message.created_at == params["now"]),
        "notifications": sorted(
            (r.user_id, r.kind, r.title, r.body, r.read_at, r.created_at == params["now"],
             r.data == {"conversation_id": params["cid"], "message_id": message_id, "sender_id": params["sender"]})
            for r in rows),
    }


def _both(db, conversation_id, sender_id, tag, body="hello"):
    """The fused statement and the portable twin on the same inputs (each in its own unit of work)."""
    fused, portable = _params(conversation_id, sender_id, f"f-{tag}", body), _params(conversation_id, sender_id,
                                                                                    f"p-{tag}", body)
    with unit_of_work():
        db.session.execute(sa.select(1))  # a transaction is open: the statement joins it
        fused_outcome = _outcome(db, queries.store_message(fused), fused)
    with unit_of_work():
        portable_outcome = _outcome(db, queries.store_message_portable(portable), portable)
    return fused_outcome, portable_outcome


def test_a_pair_send_writes_the_same_rows(db, pair, student, tutor):
    fused, portable = _both(db, pair.id, student.id, "pair", body="x" * 300)
    assert fused == portable
    assert fused["notifications"] == [(tutor.id, "message", "New message from Sam Student", "x" * 140, None,
                                       True, True)]


def test_a_group_send_notifies_every_other_participant_alike(db, student, tutor, outsider):
    booking = BookingFactory(student=student)
    conversation = committed(services.add_booking_conversation, booking.id, [student.id, tutor.id, outsider.id])
    fused, portable = _both(db, conversation.id, tutor.id, "group")
    assert fused == portable
    assert [row[0] for row in fused["notifications"]] == sorted([student.id, outsider.id])


def test_a_conversation_of_one_stores_the_message_and_notifies_nobody(db, student):
    booking = BookingFactory(student=student)
    conversation = committed(services.add_booking_conversation, booking.id, [student.id])
    fused, portable = _both(db, conversation.id, student.id, "alone")
    assert fused == portable and fused["notifications"] == []


def test_the_longest_sender_name_alike(db, pair, student):
    student.full_name = "N" * 120
    db.session.commit()
    fused, portable = _both(db, pair.id, student.id, "long")
    assert fused == portable
    assert fused["notifications"][0][2] == "New message from " + "N" * 120


def test_refusals_write_nothing_alike(db, pair, student, tutor, outsider):
    assert _both(db, pair.id, outsider.id, "outsider") == (None, None)
    committed(services.block, tutor.id, student.id)
    assert _both(db, pair.id, student.id, "blocked") == (None, None)
    assert _both(db, pair.id, tutor.id, "blocker")[0] is not None  # the blocker still writes
    for store in (queries.store_message, queries.store_message_portable):
        with unit_of_work():
            db.session.execute(sa.select(1))
            assert store(_params(pair.id, tutor.id, "f-blocker")) is None  # a repeated client_id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Message)) == 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 2


def _visible_elsewhere(db, client_id):
    with db.engine.connect() as other:
        return other.scalar(sa.select(sa.func.count()).select_from(Message).where(Message.client_id == client_id))


def test_a_standalone_send_outside_a_transaction_commits_on_its_own(db, pair, student):
    params = _params(pair.id, student.id, "alone-1")
    db.session.commit()  # as on a socket: the unit of work starts with no transaction
    with unit_of_work():
        assert queries.store_message(params, standalone=True) is not None
        assert not db.session().in_transaction()  # the unit's session never began one
        assert _visible_elsewhere(db, "alone-1") == 1


def test_a_send_with_more_writes_to_follow_joins_the_unit_of_work(db, pair, student):
    with unit_of_work():
        assert queries.store_message(_params(pair.id, student.id, "joined-1"), standalone=False) is not None
        assert db.session().in_transaction()
        assert _visible_elsewhere(db, "joined-1") == 0
    assert _visible_elsewhere(db, "joined-1") == 1


def test_a_send_rolled_back_with_its_unit_leaves_nothing(db, pair, student):
    class Boom(Exception):
        pass

    with pytest.raises(Boom), unit_of_work():
        db.session.execute(sa.select(1))
        queries.store_message(_params(pair.id, student.id, "gone-1"), standalone=True)
        raise Boom
    assert _visible_elsewhere(db, "gone-1") == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 0
