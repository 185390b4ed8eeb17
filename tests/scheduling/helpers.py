"""Reading what scheduling wrote to the outbox (rows and the .eml files the file backend produced)."""
import email
import os

import sqlalchemy as sa
from icalendar import Calendar

from app.extensions import db
from app.notifications.models import OutboxMessage


def messages(recipient=None, kind=None, channel="email", status=None):
    stmt = sa.select(OutboxMessage).where(OutboxMessage.channel == channel).order_by(OutboxMessage.id)
    if recipient:
        stmt = stmt.where(OutboxMessage.recipient == recipient)
    if kind:
        stmt = stmt.where(OutboxMessage.kind == kind)
    if status:
        stmt = stmt.where(OutboxMessage.status == status)
    return db.session.scalars(stmt).all()


def eml(outbox_dir, message):
    with open(os.path.join(outbox_dir, f"{message.id:08d}.eml"), "rb") as handle:
        return email.message_from_bytes(handle.read())


def ics_attachment(parsed_email):
    """The parsed .ics attached to an email (icalendar.Calendar)."""
    for part in parsed_email.walk():
        if part.get_content_type() == "text/calendar":
            return Calendar.from_ical(part.get_payload(decode=True))
    raise AssertionError("no text/calendar attachment")


def body_text(parsed_email):
    for part in parsed_email.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode()
    return ""
