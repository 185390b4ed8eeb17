"""The event seam and the unit of work: events leave only after the outermost commit, never after a rollback."""
import pytest
import sqlalchemy as sa

from app.common.errors import Conflict, NotFound
from app.common.events import EventBus, publish
from app.common.transactions import in_unit_of_work, unit_of_work
from app.users.models import User
from tests.factories import UserFactory


@pytest.fixture
def heard(app):
    """Subscribe a recorder to test.* events on the app's bus for one test, then restore the bus."""
    original = app.extensions["events"]
    bus = EventBus()
    for name in original.names():
        for handler in original.subscribers(name):
            bus.subscribe(name, handler)
    app.extensions["events"] = bus
    calls = []
    for name in ("test.one", "test.two", "test.chained"):
        bus.subscribe(name, lambda _name=name, **payload: calls.append((_name, payload)))
    yield calls, bus
    app.extensions["events"] = original


def _committed_bio(db, user_id):
    """The bio as another connection sees it (committed data only)."""
    with db.engine.connect() as connection:
        return connection.scalar(sa.select(User.bio).where(User.id == user_id))


def test_publish_outside_a_unit_of_work_is_refused(db):
    with pytest.raises(RuntimeError, match="outside a unit of work"):
        publish("test.one", value=1)


def test_events_are_delivered_after_the_commit_in_order(db, heard):
    calls, bus = heard
    user = UserFactory(bio="before")
    seen_by_subscriber = []
    bus.subscribe("test.one", lambda **_payload: seen_by_subscriber.append(_committed_bio(db, user.id)))
    with unit_of_work():
        user.bio = "after"
        publish("test.one", user_id=user.id)
        publish("test.two", user_id=user.id)
        assert calls == []  # nothing leaves before the commit
    assert calls == [("test.one", {"user_id": user.id}), ("test.two", {"user_id": user.id})]
    assert seen_by_subscriber == ["after"]  # the subscriber saw the committed row


def test_a_rolled_back_unit_delivers_nothing_and_keeps_nothing(db, heard):
    calls, _bus = heard
    user = UserFactory(bio="before")
    with pytest.raises(NotFound), unit_of_work():
        user.bio = "after"
        publish("test.one", user_id=user.id)
        raise NotFound("refused")
    assert calls == []
    assert _committed_bio(db, user.id) == "before"
    with unit_of_work():  # the dropped event does not leak into the next unit
        publish("test.two", user_id=user.id)
    assert calls == [("test.two", {"user_id": user.id})]


def test_only_the_outermost_unit_commits_and_delivers(db, heard):
    calls, _bus = heard
    user = UserFactory(bio="before")
    with unit_of_work():
        with unit_of_work():
            user.bio = "inner"
            publish("test.one", user_id=user.id)
        assert in_unit_of_work()
        assert calls == []
        assert _committed_bio(db, user.id) == "before"
    assert not in_unit_of_work()
    assert calls == [("test.one", {"user_id": user.id})]
    assert _committed_bio(db, user.id) == "inner"


def test_an_inner_failure_rolls_back_the_whole_unit(db, heard):
    calls, _bus = heard
    user = UserFactory(bio="before")
    with pytest.raises(ValueError), unit_of_work():
        user.bio = "outer"
        publish("test.one", user_id=user.id)
        with unit_of_work():
            raise ValueError("boom")
    assert calls == [] and _committed_bio(db, user.id) == "before"


def test_integrity_error_becomes_409_and_drops_the_events(db, heard):
    calls, _bus = heard
    existing = UserFactory(email="taken@example.com")
    other = UserFactory()
    with pytest.raises(Conflict) as raised, unit_of_work():
        other.email = existing.email
        publish("test.one", user_id=other.id)
    assert raised.value.code == 409
    assert calls == []


def test_a_failing_subscriber_does_not_stop_the_others_or_undo_the_change(db, heard, caplog):
    calls, bus = heard
    user = UserFactory(bio="before")

    def broken(**_payload):
        raise RuntimeError("subscriber bug")

    bus.subscribe("test.one", broken)
    with unit_of_work():
        user.bio = "after"
        publish("test.one", user_id=user.id)
        publish("test.two", user_id=user.id)
    assert [name for name, _payload in calls] == ["test.one", "test.two"]
    assert _committed_bio(db, user.id) == "after"
    assert "subscriber bug" in caplog.text


def test_a_subscriber_may_publish_in_its_own_unit(db, heard):
    calls, bus = heard

    def react(user_id):
        with unit_of_work():
            publish("test.chained", user_id=user_id)

    bus.subscribe("test.one", react)
    with unit_of_work():
        publish("test.one", user_id=7)
    assert calls == [("test.one", {"user_id": 7}), ("test.chained", {"user_id": 7})]


def test_unit_of_work_as_a_decorator(db, heard):
    calls, _bus = heard
    user = UserFactory(bio="before")

    @unit_of_work()
    def change(bio):
        user.bio = bio
        publish("test.one", bio=bio)
        return bio

    assert change("decorated") == "decorated"
    assert calls == [("test.one", {"bio": "decorated"})]
    assert _committed_bio(db, user.id) == "decorated"


def test_create_app_registers_each_domains_subscribers(app):
    bus = app.extensions["events"]
    for name in ("socket.connected", "socket.disconnected", "booking.confirmed", "availability.changed",
                 "user.renamed"):
        assert bus.subscribers(name), name
