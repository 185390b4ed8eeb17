"""Email digests of unread messages: offline recipients only, one per conversation per hour, via the outbox."""
from datetime import timedelta

import sqlalchemy as sa

from app.common.time import utcnow
from app.messaging import digest, presence, services
from app.notifications.models import OutboxMessage
from jobs import tasks
from jobs.schedule import PERIODIC_JOBS
from tests.messaging.conftest import committed, send


def queue_message_digests(now):
    return committed(services.queue_message_digests, now=now)


def _digests(db):
    return list(db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "message_digest")
                                   .order_by(OutboxMessage.id)))


def test_offline_recipient_gets_one_digest_per_hour(db, pair, student, tutor):
    for text in ("Can we move Thursday?", "Maybe 5pm?", "Let me know"):
        send(student.id, pair.id, text)
    later = utcnow() + timedelta(minutes=5)
    assert queue_message_digests(now=later) == 1
    assert queue_message_digests(now=later + timedelta(minutes=1)) == 0
    [email] = _digests(db)
    assert email.recipient == tutor.email and email.user_id == tutor.id
    assert "3 unread messages" in email.subject
    assert "Can we move Thursday?" in email.body_text and "Let me know" in email.body_text
    assert email.dedupe_key.startswith(f"message-digest:{pair.id}:{tutor.id}:")

    # New messages within the hour wait; after the hour a new digest covers only what is new.
    send(student.id, pair.id, "Another one")
    assert queue_message_digests(now=later + timedelta(minutes=30)) == 0
    assert queue_message_digests(now=later + timedelta(minutes=61)) == 1
    assert len(_digests(db)) == 2
    assert queue_message_digests(now=later + timedelta(hours=3)) == 0


def test_online_or_caught_up_recipient_gets_none(db, pair, student, tutor):
    message, _ = send(student.id, pair.id, "hi")
    presence.mark_online(tutor.id, "sid-1")
    assert queue_message_digests(now=utcnow() + timedelta(minutes=5)) == 0
    presence.mark_offline(tutor.id, "sid-1")
    committed(services.mark_read, tutor.id, pair.id, message["id"])
    assert queue_message_digests(now=utcnow() + timedelta(minutes=5)) == 0
    assert _digests(db) == []


def test_fresh_messages_wait_for_the_delay(db, pair, student):
    send(student.id, pair.id, "just now")
    assert queue_message_digests(now=utcnow()) == 0


def test_digest_is_delivered_through_outbox(db, pair, student, tutor, outbox_dir):
    import os

    send(student.id, pair.id, "see you")
    queue_message_digests(now=utcnow() + timedelta(minutes=5))
    [email] = _digests(db)
    db.session.refresh(email)
    assert email.status == "sent"  # jobs run inline in tests: delivered after commit
    assert os.path.exists(os.path.join(outbox_dir, f"{email.id:08d}.eml"))


def test_a_digest_queued_meanwhile_by_another_run_is_skipped_and_the_rest_kept(db, pair, student, tutor, outsider,
                                                                              monkeypatch):
    other = committed(services.get_or_create_pair, outsider.id, tutor.id)[0]
    send(student.id, pair.id, "from sam")
    send(outsider.id, other.id, "from olly")
    real = digest.notifications.queue_email
    raced = []

    def racing(recipient, subject, text, **kwargs):
        if not raced:  # another run queues this digest between the existence check and the insert
            raced.append(kwargs["dedupe_key"])
            db.session.execute(sa.insert(OutboxMessage).values(
                channel="email", recipient=recipient, body_text="theirs", dedupe_key=kwargs["dedupe_key"],
                status="pending", deliver_after=utcnow(), attempts=0, created_at=utcnow(), subject="",
                attachments=[], kind="message_digest"))
        return real(recipient, subject, text, **kwargs)

    monkeypatch.setattr(digest.notifications, "queue_email", racing)
    assert queue_message_digests(now=utcnow() + timedelta(minutes=5)) == 1
    [email] = _digests(db)
    assert email.dedupe_key != raced[0] and "from olly" in email.body_text


def test_periodic_job_is_scheduled():
    assert any(func is tasks.send_message_digests for func, _interval, _queue in PERIODIC_JOBS)
    assert tasks.send_message_digests() == 0
