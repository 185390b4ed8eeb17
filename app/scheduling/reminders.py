"""Change notices (email + opt-in SMS, with an .ics) and reminders, all written to the outbox.

Reminders are outbox rows with ``deliver_after`` = start − offset and dedupe keys
``reminder:<booking_id>:<offset>:v<sequence>:<user_id>:<channel>``; the periodic ``dispatch_due_outbox`` job
delivers them (rows claimed with FOR UPDATE SKIP LOCKED plus a claim lease, so never twice). A reschedule
cancels the old rows (``reminder:<id>:`` prefix) and writes new ones with the next sequence; a cancel drops them.
"""
from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import current_app

from app.common import time as clock
from app.notifications import services as notifications
from app.scheduling.ics import booking_invite, subject_name

SMS_PREFERENCE = "sms_reminders"


def reminder_prefix(booking_id):
    return f"reminder:{booking_id}:"


def wants_sms(user):
    return bool(user.phone_number) and bool((user.preferences or {}).get(SMS_PREFERENCE))


def _local(instant, user):
    zone = ZoneInfo(user.timezone or "UTC")
    return instant.astimezone(zone).strftime(f"%a %d %b %Y %H:%M ({user.timezone or 'UTC'})")


def _describe(booking, user):
    other = booking.student if user.id == booking.tutor_id else booking.tutor
    return f"{subject_name(booking.subject)} with {other.full_name}, {_local(booking.start_at, user)}, " \
           f"{booking.duration_minutes} minutes"


NOTICE_TITLES = {
    "requested": "New booking request",
    "confirmed": "Session confirmed",
    "rescheduled": "Session rescheduled",
    "reschedule_proposed": "New time proposed",
    "reschedule_declined": "Proposed time declined",
    "cancelled": "Session cancelled",
    "rejected": "Booking request declined",
    "expired": "Booking request expired",
}


def notify(booking, change, recipients=None, ics=True, sms=True):
    """Email (with the booking's .ics), an in-app notification (``notification:new``) and, when opted in, SMS
    each recipient (default: both participants)."""
    recipients = recipients or (booking.student, booking.tutor)
    title = NOTICE_TITLES[change]
    for user in recipients:
        text = f"{title}: {_describe(booking, user)}."
        if booking.cancel_reason and change == "cancelled":
            text += f"\nReason: {booking.cancel_reason}"
        if change == "reschedule_proposed" and booking.proposed_start_at:
            text += f"\nProposed new start: {_local(booking.proposed_start_at, user)}. Accept or decline in Tutorhub."
        attachments = None
        if ics:
            attachments = [notifications.attachment(f"booking-{booking.id}.ics", "text/calendar",
                                                    booking_invite(booking, user.id))]
        notifications.queue_email(
            user.email, f"Tutorhub: {title.lower()}", text, user_id=user.id, kind=f"booking_{change}",
            attachments=attachments,
        )
        notifications.notify(user.id, f"booking_{change}", title, text,
                             data={"booking_id": booking.id, "state": booking.state})
        if sms and wants_sms(user):
            notifications.queue_sms(user.phone_number, f"Tutorhub: {text}"[:320], user_id=user.id,
                                    kind=f"booking_{change}")


def schedule_reminders(booking, now=None):
    """Outbox rows for each configured offset still in the future, for both participants."""
    now = now or clock.utcnow()
    rows = []
    for offset in current_app.config["REMINDER_OFFSETS_MINUTES"]:
        deliver_after = booking.start_at - timedelta(minutes=offset)
        if deliver_after <= now:
            continue
        label = f"{offset // 60} h" if offset % 60 == 0 else f"{offset} min"
        for user in (booking.student, booking.tutor):
            key = f"{reminder_prefix(booking.id)}{offset}:v{booking.sequence}:{user.id}"
            text = f"Reminder: {_describe(booking, user)} starts in {label}."
            rows.append(notifications.queue_email(
                user.email, f"Tutorhub reminder: session in {label}", text, user_id=user.id,
                kind="booking_reminder", deliver_after=deliver_after, dedupe_key=f"{key}:email",
            ))
            if wants_sms(user):
                rows.append(notifications.queue_sms(
                    user.phone_number, f"Tutorhub: {text}"[:320], user_id=user.id, kind="booking_reminder",
                    deliver_after=deliver_after, dedupe_key=f"{key}:sms",
                ))
    return rows


def drop_reminders(booking):
    """Cancel the booking's undelivered reminders, including any a dead worker claimed (notifications' outbox
    would otherwise send it for a session that no longer stands)."""
    return notifications.cancel_undelivered(reminder_prefix(booking.id))


def move_reminders(booking, now=None):
    drop_reminders(booking)
    return schedule_reminders(booking, now)
