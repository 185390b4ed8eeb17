"""The outbox: written in the caller's unit of work, delivered after commit, retried, never sent twice."""
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message

from app.common.errors import Conflict
from app.common.time import utcnow
from app.common.transactions import unit_of_work
from app.notifications import services as notifications
from app.notifications.email import EmailGateway
from app.notifications.models import OutboxMessage
from jobs.tasks import deliver_outbox_message, dispatch_due_outbox
from tests.conftest import free_port, read_emails
from tests.factories import OutboxMessageFactory, UserFactory


class Inbox(Message):
    """aiosmtpd handler keeping every message it receives."""

    def __init__(self):
        super().__init__()
        self.messages = []

    def handle_message(self, message):
        self.messages.append(message)


@pytest.fixture
def smtp_server(app, monkeypatch):
    """A real SMTP server on 127.0.0.1, with the app's mail settings pointed at it."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "smtp")
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", controller.port)
    yield inbox
    controller.stop()


def _status(db, message_id):
    db.session.expire_all()
    return db.session.get(OutboxMessage, message_id)


class Boom(Exception):
    pass


def test_queued_email_is_delivered_by_smtp_after_commit(db, smtp_server):
    user = UserFactory(email="kim@example.com")
    with unit_of_work():
        message = notifications.queue_email(
            "kim@example.com", "Welcome", "Hello Kim\nSee you soon.\n", user_id=user.id,
            attachments=[notifications.attachment("notes.txt", "text/plain", b"abc")])
        assert message.id is not None  # flushed: the event carries the id
        assert smtp_server.messages == []  # nothing leaves before the unit of work commits

    assert len(smtp_server.messages) == 1
    received = smtp_server.messages[0]
    assert received["To"] == "kim@example.com" and received["Subject"] == "Welcome"
    assert "Hello Kim" in received.get_payload()[0].get_payload()
    row = _status(db, message.id)
    assert row.status == "sent" and row.attempts == 1 and row.sent_at is not None


def test_rolled_back_message_is_never_sent(db, smtp_server):
    with pytest.raises(Boom), unit_of_work():
        notifications.queue_email("kim@example.com", "Never", "Never sent")
        raise Boom
    assert smtp_server.messages == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0


def test_savepoints_and_nested_units_do_not_deliver_early_or_forget(db, smtp_server):
    """Only the outermost unit's commit delivers; a savepoint released or rolled back on the way changes nothing."""
    with unit_of_work():
        message = notifications.queue_email("kim@example.com", "Booked", "See you")
        with db.session.begin_nested():
            pass
        nested = db.session.begin_nested()
        nested.rollback()
        with unit_of_work():
            notifications.queue_email("kim@example.com", "Inner", "Also")
        assert smtp_server.messages == []

    assert sorted(m["Subject"] for m in smtp_server.messages) == ["Booked", "Inner"]
    assert _status(db, message.id).status == "sent"


def test_queued_event_enqueues_the_delivery_job_by_dotted_name(app, db, monkeypatch):
    enqueued = []
    monkeypatch.setattr(app.extensions["queues"]["default"], "enqueue", lambda *args: enqueued.append(args))
    with unit_of_work():
        email = notifications.queue_email("kim@example.com", "Hi", "Hello")
        sms = notifications.queue_sms("+14155550123", "Hello")
        assert enqueued == []
    assert enqueued == [("jobs.tasks.deliver_outbox_message", email.id),
                        ("jobs.tasks.deliver_outbox_message", sms.id)]


def test_redis_down_keeps_the_row_for_the_dispatcher(app, db, monkeypatch, outbox_dir, caplog):
    def unavailable(*_args):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(app.extensions["queues"]["default"], "enqueue", unavailable)
    with unit_of_work():
        message = notifications.queue_email("kim@example.com", "Later", "Still arrives")
    assert "Could not enqueue delivery" in caplog.text
    assert _status(db, message.id).status == "pending"

    assert dispatch_due_outbox() == 1
    assert [m["Subject"] for m in read_emails(outbox_dir)] == ["Later"]


def test_deliver_twice_sends_once(db, smtp_server):
    message = OutboxMessageFactory()

    assert deliver_outbox_message(message.id) == "sent"
    assert deliver_outbox_message(message.id) is None
    assert dispatch_due_outbox() == 0

    assert len(smtp_server.messages) == 1


def test_the_claim_is_committed_before_the_gateway_is_called(app, db, monkeypatch):
    """What another worker sees while this one sends: the row claimed, so it keeps off it."""
    message = OutboxMessageFactory()
    seen = []

    def send(_gateway, outbox_message):
        with app.app_context():  # another worker: its own session and connection
            seen.append(db.session.get(OutboxMessage, outbox_message.id).status)
            seen.append(deliver_outbox_message(outbox_message.id))
            db.session.remove()

    monkeypatch.setattr(EmailGateway, "send", send)
    assert deliver_outbox_message(message.id) == "sent"
    assert seen == ["sending", None]


def test_delivery_refuses_to_run_inside_a_unit_of_work(db):
    message = OutboxMessageFactory()
    with pytest.raises(RuntimeError, match="outside any unit of work"), unit_of_work():
        deliver_outbox_message(message.id)
    assert _status(db, message.id).status == "pending"


def test_failures_back_off_then_fail(db, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "smtp")
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", free_port())  # nobody listens: connection refused
    monkeypatch.setitem(app.config, "OUTBOX_MAX_ATTEMPTS", 3)
    message = OutboxMessageFactory()

    delays = []
    for attempt in (1, 2):
        before = utcnow()
        assert deliver_outbox_message(message.id) == "pending"
        row = _status(db, message.id)
        assert row.attempts == attempt and row.last_error
        delays.append(round((row.deliver_after - before).total_seconds()))
        # Not due yet: a second call does nothing.
        assert deliver_outbox_message(message.id) is None
        row.deliver_after = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert delays == [30, 60]

    assert deliver_outbox_message(message.id) == "failed"
    row = _status(db, message.id)
    assert row.attempts == 3 and row.status == "failed"
    assert deliver_outbox_message(message.id) is None


def test_retry_succeeds_once_the_server_is_back(db, app, monkeypatch, smtp_server):
    port = app.config["MAIL_PORT"]
    monkeypatch.setitem(app.config, "MAIL_PORT", free_port())
    message = OutboxMessageFactory()
    assert deliver_outbox_message(message.id) == "pending"
    monkeypatch.setitem(app.config, "MAIL_PORT", port)
    row = _status(db, message.id)
    row.deliver_after = utcnow()
    db.session.commit()

    assert dispatch_due_outbox() == 1

    assert len(smtp_server.messages) == 1
    assert _status(db, message.id).status == "sent"


def test_stale_claim_is_taken_over(db, smtp_server):
    fresh = OutboxMessageFactory(status="sending", claimed_at=utcnow())
    stale = OutboxMessageFactory(status="sending", claimed_at=utcnow() - notifications.claim_lease() - timedelta(seconds=1))
    assert dispatch_due_outbox() == 1
    assert _status(db, stale.id).status == "sent"
    assert _status(db, fresh.id).status == "sending"
    assert deliver_outbox_message(fresh.id) is None


@pytest.mark.postgres
def test_concurrent_dispatchers_send_each_message_once(app, db, monkeypatch):
    messages = [OutboxMessageFactory() for _ in range(30)]
    sent, lock = [], threading.Lock()

    def record(_gateway, outbox_message):
        with lock:
            sent.append(outbox_message.id)

    monkeypatch.setattr(EmailGateway, "send", record)
    barrier, totals, errors = threading.Barrier(3), [], []

    def dispatcher():
        with app.app_context():
            try:
                barrier.wait(5)
                totals.append(sum(dispatch_due_outbox(limit=4) for _ in range(10)))
            except Exception as error:  # noqa: BLE001 (reported below)
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=dispatcher) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert sorted(sent) == sorted(m.id for m in messages)
    assert sum(totals) == 30


def test_future_and_cancelled_messages_wait(db, smtp_server):
    later = OutboxMessageFactory(deliver_after=utcnow() + timedelta(hours=1), dedupe_key="reminder:booking:7:24h")
    OutboxMessageFactory(deliver_after=utcnow() + timedelta(hours=2), dedupe_key="reminder:booking:7:1h")
    OutboxMessageFactory(dedupe_key="reminder:booking:70:1h", status="sent")
    assert dispatch_due_outbox() == 0
    with unit_of_work():
        assert notifications.cancel_undelivered("reminder:booking:7:") == 2
    assert _status(db, later.id).status == "cancelled"
    assert smtp_server.messages == []


def test_dedupe_key_is_unique_and_refused_when_queued(db):
    OutboxMessageFactory(dedupe_key="welcome:1")
    with pytest.raises(Conflict) as refused, unit_of_work():
        notifications.queue_email("a@example.com", "x", "y", dedupe_key="welcome:1")
    assert refused.value.code == 409
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 1


def test_file_backend_writes_eml(db, outbox_dir):
    with unit_of_work():
        notifications.queue_email("kim@example.com", "Hello", "Line one\nhttps://example.com/x?token=abc\n",
                                  body_html="<p>Line one</p>")
    (message,) = read_emails(outbox_dir)
    assert message["Subject"] == "Hello"
    assert "https://example.com/x?token=abc" in message.get_body(preferencelist=("plain",)).get_content()
    assert "<p>Line one</p>" in message.get_body(preferencelist=("html",)).get_content()
