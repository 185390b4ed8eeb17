"""The outbox: messages are written with the change that causes them and delivered after commit.

A message row is claimed (status 'sending' + claimed_at) in its own committed transaction before the
gateway is called, so two workers never send it twice; a claim older than CLAIM_LEASE is taken to belong
to a dead worker and may be claimed again.
"""
import base64
import logging
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.common.time import utcnow
from app.extensions import db, queues
from app.notifications.email import EmailGateway
from app.notifications.models import OutboxMessage
from app.notifications.sms import SMSGateway

log = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(minutes=5)
_NEW_IDS_KEY = "outbox_new_ids"


def attachment(filename, content_type, data):
    return {"filename": filename, "content_type": content_type, "content_b64": base64.b64encode(data).decode()}


def queue_email(recipient, subject, body_text, *, body_html=None, user_id=None, kind="generic",
                attachments=None, deliver_after=None, dedupe_key=None):
    """Add an email to the outbox in the current transaction; it is delivered once that commits."""
    return _queue("email", recipient, body_text, subject=subject, body_html=body_html, user_id=user_id,
                  kind=kind, attachments=attachments, deliver_after=deliver_after, dedupe_key=dedupe_key)


def queue_sms(recipient, body_text, *, user_id=None, kind="generic", deliver_after=None, dedupe_key=None):
    return _queue("sms", recipient, body_text, user_id=user_id, kind=kind,
                  deliver_after=deliver_after, dedupe_key=dedupe_key)


def _queue(channel, recipient, body_text, *, subject="", body_html=None, user_id=None, kind="generic",
           attachments=None, deliver_after=None, dedupe_key=None):
    message = OutboxMessage(
        channel=channel, recipient=recipient, subject=subject, body_text=body_text, body_html=body_html,
        user_id=user_id, kind=kind, attachments=attachments or [], dedupe_key=dedupe_key,
        deliver_after=deliver_after or utcnow(), status="pending",
    )
    db.session.add(message)
    return message


def cancel_pending(kind_prefix_key):
    """Cancel undelivered messages whose dedupe_key starts with a prefix (e.g. a booking's reminders)."""
    return db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.dedupe_key.startswith(kind_prefix_key, autoescape=True))
        .where(OutboxMessage.status == "pending")
        .values(status="cancelled")
    ).rowcount


def cancel_undelivered(kind_prefix_key):
    """cancel_pending, and also the messages under the prefix that a dead worker claimed (its lease ran out, so a
    live dispatcher would otherwise take them over and send them)."""
    stale = utcnow() - CLAIM_LEASE
    orphaned = db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.dedupe_key.startswith(kind_prefix_key, autoescape=True))
        .where(OutboxMessage.status == "sending", OutboxMessage.claimed_at < stale)
        .values(status="cancelled")
    ).rowcount
    return cancel_pending(kind_prefix_key) + orphaned


def _gateway_for(channel):
    return EmailGateway.from_config() if channel == "email" else SMSGateway.from_config()


def _claim(session, message_id, now):
    stale = now - CLAIM_LEASE
    claimed = session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .where(OutboxMessage.deliver_after <= now)
        .where(
            sa.or_(
                OutboxMessage.status == "pending",
                sa.and_(OutboxMessage.status == "sending", OutboxMessage.claimed_at < stale),
            )
        )
        .values(status="sending", claimed_at=now, attempts=OutboxMessage.attempts + 1)
    ).rowcount
    session.commit()
    return claimed == 1


def deliver(message_id):
    """Send one outbox message if it is due and nobody else holds it. Returns the final status."""
    with Session(db.engine, expire_on_commit=False) as session:
        now = utcnow()
        if not _claim(session, message_id, now):
            return None
        return _send_claimed(session, session.get(OutboxMessage, message_id), now)


def _send_claimed(session, message, now):
    """Send a message this worker has claimed and record the outcome (one commit)."""
    try:
        _gateway_for(message.channel).send(message)
    except Exception as error:  # noqa: BLE001 (any gateway failure is retried later, never raised)
        log.warning("Delivery of outbox message %s failed: %s", message.id, error)
        max_attempts = current_app.config["OUTBOX_MAX_ATTEMPTS"]
        message.last_error = str(error)[:2000]
        if message.attempts >= max_attempts:
            message.status = "failed"
        else:
            message.status = "pending"
            message.deliver_after = now + timedelta(seconds=30 * 2 ** (message.attempts - 1))
    else:
        message.status = "sent"
        message.sent_at = utcnow()
        message.last_error = None
    session.commit()
    return message.status


def claim_due_ids(limit=100):
    """Ids of due messages, locked so concurrent dispatchers take disjoint sets (SKIP LOCKED)."""
    now = utcnow()
    stale = now - CLAIM_LEASE
    stmt = (
        sa.select(OutboxMessage.id)
        .where(OutboxMessage.deliver_after <= now)
        .where(
            sa.or_(
                OutboxMessage.status == "pending",
                sa.and_(OutboxMessage.status == "sending", OutboxMessage.claimed_at < stale),
            )
        )
        .order_by(OutboxMessage.deliver_after, OutboxMessage.id)
        .limit(limit)
    )
    if db.engine.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return list(db.session.scalars(stmt))


def _due(now):
    stale = now - CLAIM_LEASE
    return (
        OutboxMessage.deliver_after <= now,
        sa.or_(
            OutboxMessage.status == "pending",
            sa.and_(OutboxMessage.status == "sending", OutboxMessage.claimed_at < stale),
        ),
    )


def claim_due_batch(session, limit=500):
    """Claim up to ``limit`` due messages with one committed UPDATE … RETURNING (rows picked with SKIP LOCKED
    on PostgreSQL); they belong to this caller until CLAIM_LEASE passes, as with ``_claim``."""
    now = utcnow()
    pick = sa.select(OutboxMessage.id).where(*_due(now)).order_by(OutboxMessage.deliver_after, OutboxMessage.id)
    pick = pick.limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    ids = session.scalars(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id.in_(pick.scalar_subquery()))
        .where(*_due(now))
        .values(status="sending", claimed_at=now, attempts=OutboxMessage.attempts + 1)
        .returning(OutboxMessage.id)
    ).all()
    session.commit()
    return sorted(ids)


def dispatch_due(limit=500):
    """Deliver every due message; safe to run in several workers at once. Returns how many were sent.

    One commit claims the batch, then each message is sent and marked on its own commit, so a crash
    re-sends nothing already marked and a dead worker's unsent claims return after the lease."""
    sent = 0
    with Session(db.engine, expire_on_commit=False) as session:
        ids = claim_due_batch(session, limit)
        if not ids:
            return 0
        messages = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.id.in_(ids)).order_by(OutboxMessage.id))
        for message in messages.all():
            if _send_claimed(session, message, utcnow()) == "sent":
                sent += 1
    return sent


def _enqueue_delivery(message_ids):
    from jobs.tasks import deliver_outbox_message

    queue = queues["default"]
    for message_id in message_ids:
        try:
            queue.enqueue(deliver_outbox_message, message_id)
        except Exception:  # Redis down: the periodic dispatcher picks the row up later
            log.exception("Could not enqueue delivery of outbox message %s", message_id)


@event.listens_for(Session, "after_flush")
def _remember_new_messages(session, _flush_context):
    new_ids = [obj.id for obj in session.new if isinstance(obj, OutboxMessage)]
    if new_ids:
        session.info.setdefault(_NEW_IDS_KEY, []).extend(new_ids)


def _run_after_outermost_commit(info_key, action):
    """Hand what flushes collected under ``session.info[info_key]`` to ``action`` once the real commit happens.

    Releasing a SAVEPOINT fires after_commit too, while the outer transaction is still open: acting then would
    deliver rows no other connection can see yet, so only the outermost commit counts (and only the outermost
    rollback forgets).
    """

    @event.listens_for(Session, "after_commit")
    def _after_commit(session):
        if session.in_nested_transaction():
            return
        collected = session.info.pop(info_key, [])
        if collected:
            action(collected)

    @event.listens_for(Session, "after_soft_rollback")
    def _after_rollback(session, previous_transaction):
        if not previous_transaction.nested:
            session.info.pop(info_key, None)


# Through a lambda so the module-level function is looked up at commit time (tests replace it).
_run_after_outermost_commit(_NEW_IDS_KEY, lambda ids: _enqueue_delivery(ids))


# --- In-app notifications: a row per notification, pushed live as ``notification:new`` after commit. ---

_NEW_NOTIFICATIONS_KEY = "notifications_to_emit"


def notify(user_id, kind, title, body="", data=None):
    """Add an in-app notification in the current transaction; it is emitted to ``user:<id>`` once that commits."""
    from app.notifications.models import Notification

    notification = Notification(user_id=user_id, kind=kind, title=title[:200], body=body or "", data=data or {},
                                created_at=utcnow())
    db.session.add(notification)
    return notification


def notification_dict(notification):
    return {
        "id": notification.id,
        "kind": notification.kind,
        "title": notification.title,
        "body": notification.body,
        "data": notification.data,
        "read_at": notification.read_at.isoformat() if notification.read_at else None,
        "created_at": notification.created_at.isoformat(),
    }


def unread_notification_dict(notification_id, kind, title, body, data, created_at):
    """The same shape for a row written with a Core INSERT (no ORM object), unread."""
    return {"id": notification_id, "kind": kind, "title": title, "body": body, "data": data, "read_at": None,
            "created_at": created_at.isoformat()}


def emit_now(payloads):
    """Push [(user_id, notification dict)] as ``notification:new``, for rows already committed with Core
    statements (which the ORM flush hook below does not see)."""
    if payloads:
        _emit_notifications(payloads)


def notifications_query(user_id, unread=None):
    from app.notifications.models import Notification

    stmt = sa.select(Notification).where(Notification.user_id == user_id)
    if unread is True:
        stmt = stmt.where(Notification.read_at.is_(None))
    elif unread is False:
        stmt = stmt.where(Notification.read_at.is_not(None))
    return stmt.order_by(Notification.id.desc())


def mark_notification_read(user_id, notification_id):
    from app.common.errors import NotFound
    from app.notifications.models import Notification

    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.user_id != user_id:
        raise NotFound("No such notification.")
    if notification.read_at is None:
        notification.read_at = utcnow()
        db.session.commit()
    return notification


def mark_all_notifications_read(user_id):
    from app.notifications.models import Notification

    updated = db.session.execute(
        sa.update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    ).rowcount
    db.session.commit()
    return updated


def unread_notification_count(user_id):
    from app.notifications.models import Notification

    return db.session.scalar(
        sa.select(sa.func.count(Notification.id))
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
    )


def _emit_notifications(payloads):
    from app.common.sockets import user_room
    from app.extensions import socketio

    for user_id, payload in payloads:
        try:
            socketio.emit("notification:new", payload, to=user_room(user_id))
        except Exception:  # the row is committed; a missed live push shows up in GET /notifications
            log.exception("Could not emit notification %s", payload.get("id"))


@event.listens_for(Session, "after_flush")
def _remember_new_notifications(session, _flush_context):
    from app.notifications.models import Notification

    # Serialised now: after commit the objects are expired and no SQL may run.
    new = [(obj.user_id, notification_dict(obj)) for obj in session.new if isinstance(obj, Notification)]
    if new:
        session.info.setdefault(_NEW_NOTIFICATIONS_KEY, []).extend(new)


_run_after_outermost_commit(_NEW_NOTIFICATIONS_KEY, lambda payloads: _emit_notifications(payloads))
