"""Notifications: the outbox (email and SMS) and in-app notifications.

Outbox rows are written in the caller's transaction; once it commits, ``outbox.queued`` enqueues the delivery
job (``app/notifications/subscribers.py``), and the periodic dispatcher picks up whatever that missed. Delivery
is two committed steps, driven by the job functions in ``jobs/tasks.py``: ``claim``/``claim_due`` mark rows
'sending' and commit, so two workers never send one message; ``send_claimed`` then calls the gateway and
records the outcome. A claim older than OUTBOX_CLAIM_LEASE_SECONDS belongs to a dead worker and may be taken again;
a failed send is retried with exponential backoff until OUTBOX_MAX_ATTEMPTS. A worker killed after the mail server
accepted a message but before recording it re-sends that message after the lease (at-least-once, like any SMTP
client); killed at any other point, nothing is lost or doubled.

In-app notifications are rows announced as ``notification.created`` (pushed live as ``notification:new``).
"""
import base64
import logging
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from app.common.errors import NotFound
from app.common.events import publish
from app.common.time import utcnow
from app.extensions import db
from app.notifications.email import EmailGateway
from app.notifications.models import Notification, OutboxMessage
from app.notifications.sms import SMSGateway

log = logging.getLogger(__name__)

RETRY_BASE_SECONDS = 30
TITLE_MAX = 200


# --- Outbox: writing ---

def attachment(filename, content_type, data):
    return {"filename": filename, "content_type": content_type, "content_b64": base64.b64encode(data).decode()}


def queue_email(recipient, subject, body_text, *, body_html=None, user_id=None, kind="generic",
                attachments=None, deliver_after=None, dedupe_key=None):
    """Add an email to the outbox in the current unit of work; it is delivered once that commits."""
    return _queue("email", recipient, body_text, subject=subject, body_html=body_html, user_id=user_id,
                  kind=kind, attachments=attachments, deliver_after=deliver_after, dedupe_key=dedupe_key)


def queue_sms(recipient, body_text, *, user_id=None, kind="generic", deliver_after=None, dedupe_key=None):
    return _queue("sms", recipient, body_text, user_id=user_id, kind=kind,
                  deliver_after=deliver_after, dedupe_key=dedupe_key)


def _queue(channel, recipient, body_text, *, subject="", body_html=None, user_id=None, kind="generic",
           attachments=None, deliver_after=None, dedupe_key=None):
    """Flushed at once, so a taken dedupe_key raises IntegrityError here and the event carries the row's id."""
    message = OutboxMessage(
        channel=channel, recipient=recipient, subject=subject, body_text=body_text, body_html=body_html,
        user_id=user_id, kind=kind, attachments=attachments or [], dedupe_key=dedupe_key,
        deliver_after=deliver_after or utcnow(), status="pending",
    )
    db.session.add(message)
    db.session.flush()
    publish("outbox.queued", message_id=message.id, channel=channel)
    return message


def cancel_undelivered(kind_prefix_key):
    """Cancel the messages under a dedupe_key prefix (e.g. a booking's reminders) that were not sent: pending
    ones, and those a dead worker claimed (its lease ran out, so a live dispatcher would take them over)."""
    return db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.dedupe_key.startswith(kind_prefix_key, autoescape=True), _free(utcnow()))
        .values(status="cancelled")
    ).rowcount


# --- Outbox: delivery steps (each in its own committed unit of work, see jobs/tasks.py) ---

def claim_lease():
    """How long a claim keeps other workers off a message (OUTBOX_CLAIM_LEASE_SECONDS)."""
    return timedelta(seconds=current_app.config["OUTBOX_CLAIM_LEASE_SECONDS"])


def _free(now):
    """Not sent and held by nobody: pending, or claimed by a worker whose lease has run out."""
    return sa.or_(
        OutboxMessage.status == "pending",
        sa.and_(OutboxMessage.status == "sending", OutboxMessage.claimed_at < now - claim_lease()),
    )


def _due(now):
    return OutboxMessage.deliver_after <= now, _free(now)


def _claimed_values(now):
    return {"status": "sending", "claimed_at": now, "attempts": OutboxMessage.attempts + 1}


def claim(message_id):
    """Mark one message 'sending' if it is due and free. True when this caller now holds it.

    The claim must commit before ``send_claimed``: that commit is what keeps other workers off the row."""
    now = utcnow()
    claimed = db.session.execute(
        sa.update(OutboxMessage).where(OutboxMessage.id == message_id, *_due(now)).values(_claimed_values(now))
    ).rowcount
    return claimed == 1


def claim_due(limit=500):
    """Claim up to ``limit`` due messages with one UPDATE … RETURNING; their ids, in order.

    On PostgreSQL the rows are picked with SKIP LOCKED, so concurrent dispatchers take disjoint sets. As with
    ``claim``, commit before sending."""
    now = utcnow()
    pick = sa.select(OutboxMessage.id).where(*_due(now)).order_by(OutboxMessage.deliver_after, OutboxMessage.id)
    pick = pick.limit(limit)
    if db.session.get_bind().dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    ids = db.session.scalars(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id.in_(pick.scalar_subquery()), *_due(now))
        .values(_claimed_values(now))
        .returning(OutboxMessage.id)
    ).all()
    return sorted(ids)


def _gateway_for(channel):
    return EmailGateway.from_config() if channel == "email" else SMSGateway.from_config()


def send_claimed(message_id):
    """Send a message this caller has claimed (and committed) and record the outcome; returns the new status.

    A gateway failure is never raised: the message goes back to 'pending' after a backoff, or to 'failed' once
    it has used up OUTBOX_MAX_ATTEMPTS."""
    message = db.session.get(OutboxMessage, message_id)
    if message is None or message.status != "sending":
        return None
    if message.attempts == 1:
        _in_app_twin(message)
    try:
        _gateway_for(message.channel).send(message)
    except Exception as error:  # noqa: BLE001 (any gateway failure is retried later, never raised)
        log.warning("Delivery of outbox message %s failed: %s", message.id, error)
        message.last_error = str(error)[:2000]
        if message.attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"]:
            message.status = "failed"
        else:
            message.status = "pending"
            message.deliver_after = utcnow() + timedelta(seconds=RETRY_BASE_SECONDS * 2 ** (message.attempts - 1))
    else:
        message.status = "sent"
        message.sent_at = utcnow()
        message.last_error = None
    return message.status


# --- In-app notifications ---

# Deferred emails whose in-app twin appears when they fall due (first delivery attempt), not when queued.
IN_APP_WHEN_DUE = {"booking_reminder"}


def _in_app_twin(message):
    if message.kind in IN_APP_WHEN_DUE and message.channel == "email" and message.user_id is not None:
        notify(message.user_id, message.kind, message.subject, message.body_text,
               data={"outbox_message_id": message.id})

def notify(user_id, kind, title, body="", data=None):
    """Add an in-app notification in the current unit of work; ``notification.created`` follows its commit."""
    notification = Notification(user_id=user_id, kind=kind, title=title[:TITLE_MAX], body=body or "",
                                data=data or {}, created_at=utcnow())
    db.session.add(notification)
    db.session.flush()
    announce_created([notification])
    return notification


def insert_notifications_from(rows):
    """An INSERT … SELECT of in-app notifications, for a domain that writes them in one statement with its own
    change (messaging's send). ``rows`` is a select of columns labelled user_id, kind, title, body, data,
    created_at; titles are cut to TITLE_MAX here. Returns the new rows' columns; pass them to
    ``announce_created`` in the same unit of work."""
    table = Notification.__table__
    source = rows.subquery("new_notifications")
    values = sa.select(source.c.user_id, source.c.kind, sa.func.substr(source.c.title, 1, TITLE_MAX),
                       source.c.body, source.c.data, source.c.created_at)
    return (
        table.insert()
        .from_select(["user_id", "kind", "title", "body", "data", "created_at"], values)
        .returning(table.c.id, table.c.user_id, table.c.kind, table.c.title, table.c.body, table.c.data,
                   table.c.read_at, table.c.created_at)
    )


def announce_created(notifications):
    """Publish ``notification.created`` for new notifications (ORM objects or rows with their columns)."""
    for notification in notifications:
        publish("notification.created", user_id=notification.user_id, notification=notification_dict(notification))


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


def notifications_query(user_id, unread=None):
    stmt = sa.select(Notification).where(Notification.user_id == user_id)
    if unread is True:
        stmt = stmt.where(Notification.read_at.is_(None))
    elif unread is False:
        stmt = stmt.where(Notification.read_at.is_not(None))
    return stmt.order_by(Notification.id.desc())


def mark_notification_read(user_id, notification_id):
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.user_id != user_id:
        raise NotFound("No such notification.")
    if notification.read_at is None:
        notification.read_at = utcnow()
    return notification


def mark_all_notifications_read(user_id):
    return db.session.execute(
        sa.update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    ).rowcount


def unread_notification_count(user_id):
    return db.session.scalar(
        sa.select(sa.func.count(Notification.id))
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
    )
