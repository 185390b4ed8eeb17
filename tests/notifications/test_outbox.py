"""The outbox: written in the caller's transaction, delivered after commit, retried, never sent twice."""
from datetime import timedelta

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message

from app.common.time import utcnow
from app.notifications import services as notifications
from app.notifications.models import OutboxMessage
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


def test_queued_email_is_delivered_by_smtp_after_commit(db, smtp_server):
    user = UserFactory(email="kim@example.com")
    message = notifications.queue_email("kim@example.com", "Welcome", "Hello Kim\nSee you soon.\n", user_id=user.id,
                                        attachments=[notifications.attachment("notes.txt", "text/plain", b"abc")])
    db.session.flush()
    assert smtp_server.messages == []  # nothing leaves before the transaction commits

    db.session.commit()

    assert len(smtp_server.messages) == 1
    received = smtp_server.messages[0]
    assert received["To"] == "kim@example.com" and received["Subject"] == "Welcome"
    assert "Hello Kim" in received.get_payload()[0].get_payload()
    row = _status(db, message.id)
    assert row.status == "sent" and row.attempts == 1 and row.sent_at is not None


def test_rolled_back_message_is_never_sent(db, smtp_server):
    notifications.queue_email("kim@example.com", "Never", "Never sent")
    db.session.flush()
    db.session.rollback()
    assert smtp_server.messages == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == 0


def test_savepoints_do_not_deliver_early_or_forget(db, smtp_server):
    """A SAVEPOINT released or rolled back mid-transaction neither sends nor drops the outer transaction's mail."""
    message = notifications.queue_email("kim@example.com", "Booked", "See you")
    db.session.flush()
    with db.session.begin_nested():
        pass
    assert smtp_server.messages == []
    nested = db.session.begin_nested()
    nested.rollback()

    db.session.commit()

    assert [m["Subject"] for m in smtp_server.messages] == ["Booked"]
    assert _status(db, message.id).status == "sent"


def test_deliver_twice_sends_once(db, smtp_server, monkeypatch):
    monkeypatch.setattr(notifications, "_enqueue_delivery", lambda ids: None)
    message = OutboxMessageFactory()

    assert notifications.deliver(message.id) == "sent"
    assert notifications.deliver(message.id) is None
    assert notifications.dispatch_due() == 0

    assert len(smtp_server.messages) == 1


def test_failures_back_off_then_fail(db, app, monkeypatch):
    monkeypatch.setattr(notifications, "_enqueue_delivery", lambda ids: None)
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "smtp")
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", free_port())  # nobody listens: connection refused
    monkeypatch.setitem(app.config, "OUTBOX_MAX_ATTEMPTS", 3)
    message = OutboxMessageFactory()

    delays = []
    for attempt in (1, 2):
        before = utcnow()
        assert notifications.deliver(message.id) == "pending"
        row = _status(db, message.id)
        assert row.attempts == attempt and row.last_error
        delays.append(round((row.deliver_after - before).total_seconds()))
        # Not due yet: a second call does nothing.
        assert notifications.deliver(message.id) is None
        row.deliver_after = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert delays == [30, 60]

    assert notifications.deliver(message.id) == "failed"
    row = _status(db, message.id)
    assert row.attempts == 3 and row.status == "failed"
    assert notifications.deliver(message.id) is None


def test_retry_succeeds_once_the_server_is_back(db, app, monkeypatch, smtp_server):
    monkeypatch.setattr(notifications, "_enqueue_delivery", lambda ids: None)
    port = app.config["MAIL_PORT"]
    monkeypatch.setitem(app.config, "MAIL_PORT", free_port())
    message = OutboxMessageFactory()
    assert notifications.deliver(message.id) == "pending"
    monkeypatch.setitem(app.config, "MAIL_PORT", port)
    row = _status(db, message.id)
    row.deliver_after = utcnow()
    db.session.commit()

    assert notifications.dispatch_due() == 1

    assert len(smtp_server.messages) == 1
    assert _status(db, message.id).status == "sent"


def test_stale_claim_is_taken_over(db, smtp_server, monkeypatch):
    monkeypatch.setattr(notifications, "_enqueue_delivery", lambda ids: None)
    fresh = OutboxMessageFactory(status="sending", claimed_at=utcnow())
    stale = OutboxMessageFactory(status="sending", claimed_at=utcnow() - notifications.CLAIM_LEASE - timedelta(seconds=1))
    assert notifications.dispatch_due() == 1
    assert _status(db, stale.id).status == "sent"
    assert _status(db, fresh.id).status == "sending"


def test_future_and_cancelled_messages_wait(db, smtp_server, monkeypatch):
    monkeypatch.setattr(notifications, "_enqueue_delivery", lambda ids: None)
    later = OutboxMessageFactory(deliver_after=utcnow() + timedelta(hours=1), dedupe_key="reminder:booking:7:24h")
    OutboxMessageFactory(deliver_after=utcnow() + timedelta(hours=2), dedupe_key="reminder:booking:7:1h")
    OutboxMessageFactory(dedupe_key="reminder:booking:70:1h", status="sent")
    assert notifications.dispatch_due() == 0
    assert notifications.cancel_pending("reminder:booking:7:") == 2
    db.session.commit()
    assert _status(db, later.id).status == "cancelled"
    assert smtp_server.messages == []


def test_dedupe_key_is_unique(db):
    OutboxMessageFactory(dedupe_key="welcome:1")
    notifications.queue_email("a@example.com", "x", "y", dedupe_key="welcome:1")
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_file_backend_writes_eml(db, outbox_dir):
    notifications.queue_email("kim@example.com", "Hello", "Line one\nhttps://example.com/x?token=abc\n",
                              body_html="<p>Line one</p>")
    db.session.commit()
    (message,) = read_emails(outbox_dir)
    assert message["Subject"] == "Hello"
    assert "https://example.com/x?token=abc" in message.get_body(preferencelist=("plain",)).get_content()
    assert "<p>Line one</p>" in message.get_body(preferencelist=("html",)).get_content()
