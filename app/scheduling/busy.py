"""A tutor's own busy time: one-off blocks and out-of-office periods (busy_blocks rows the tutor writes).

Both are busy blocks, so everything that reads busy time (slot expansion, booking checks, search, matching)
respects them. An out-of-office period may carry a note and a colleague to suggest; the students whose requests
and confirmed sessions fall in it are told after commit (``out_of_office.set`` → ``tell_students_out_of_office``).
Blocks synced from a calendar are listed but belong to the sync: deleting one here is a 409.
"""
from datetime import timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from app.common import time as clock
from app.common.errors import Conflict, Invalid, NotFound
from app.common.events import publish
from app.extensions import db
from app.notifications import services as notifications
from app.scheduling.models import OWN_BUSY_SOURCES, Booking, BusyBlock
from app.users.models import User

MAX_BLOCK = timedelta(days=31)
MAX_OUT_OF_OFFICE = timedelta(days=366)
# Sessions an out-of-office period is announced to: pending requests and confirmed sessions.
TOLD_STATES = ("requested", "confirmed")


def list_busy(tutor, start=None, end=None):
    """The tutor's busy blocks (every source) overlapping [start, end) when given, by start."""
    stmt = sa.select(BusyBlock).where(BusyBlock.user_id == tutor.id).order_by(BusyBlock.start_at, BusyBlock.id)
    if start is not None:
        stmt = stmt.where(BusyBlock.end_at > start)
    if end is not None:
        stmt = stmt.where(BusyBlock.start_at < end)
    return stmt


def _check_period(start, end, longest, now):
    if end <= start:
        raise Invalid("end must be after start.", errors={"end": ["Must be after start."]})
    if end <= now:
        raise Invalid("The period is over already.", errors={"end": ["Must be in the future."]})
    if end - start > longest:
        raise Invalid(f"At most {longest.days} days at once.", errors={"end": [f"At most {longest.days} days."]})


def add_busy(tutor, start, end, note=None, now=None):
    """A one-off busy block (source 'manual')."""
    _check_period(start, end, MAX_BLOCK, now or clock.utcnow())
    block = BusyBlock(user_id=tutor.id, start_at=start, end_at=end, source="manual", note=note)
    db.session.add(block)
    db.session.flush()
    publish("availability.changed", tutor_id=tutor.id)
    return block


def _colleague(tutor, colleague_id):
    colleague = db.session.get(User, colleague_id)
    if colleague is None or colleague.id == tutor.id or not colleague.is_active or not colleague.has_role("tutor"):
        raise Invalid("The colleague must be another active tutor.",
                      errors={"colleague_id": ["Not another active tutor."]})
    return colleague


def add_out_of_office(tutor, start, end, note=None, colleague_id=None, now=None):
    """An out-of-office period (source 'out_of_office'): no slots in it; the students of the requests and
    confirmed sessions in it are told after commit. Returns the block with ``told_booking_ids``."""
    _check_period(start, end, MAX_OUT_OF_OFFICE, now or clock.utcnow())
    if colleague_id is not None:
        _colleague(tutor, colleague_id)
    block = BusyBlock(user_id=tutor.id, start_at=start, end_at=end, source="out_of_office", note=note,
                      colleague_id=colleague_id)
    db.session.add(block)
    db.session.flush()
    booking_ids = db.session.scalars(sa.select(Booking.id).where(
        Booking.tutor_id == tutor.id, Booking.state.in_(TOLD_STATES), Booking.start_at < end,
        Booking.end_at > start).order_by(Booking.start_at, Booking.id)).all()
    publish("out_of_office.set", block_id=block.id, tutor_id=tutor.id, start_at=start.isoformat(),
            end_at=end.isoformat(), booking_ids=list(booking_ids))
    publish("availability.changed", tutor_id=tutor.id)
    block.told_booking_ids = list(booking_ids)
    return block


def delete_busy(tutor, block_id):
    """Delete one of the tutor's own blocks; another user's is 404, a calendar-synced one 409."""
    block = db.session.get(BusyBlock, block_id)
    if block is None or block.user_id != tutor.id:
        raise NotFound("No such busy block.")
    if block.source not in OWN_BUSY_SOURCES:
        raise Conflict(f"This block comes from your {block.source} calendar; change it there.")
    db.session.delete(block)
    publish("availability.changed", tutor_id=tutor.id)


def tell_students_out_of_office(block_id, booking_ids):
    """In-app notification and email to the student of each booking still requested or confirmed in the period
    (one message per student, listing their sessions); nothing if the period was deleted meanwhile."""
    block = db.session.get(BusyBlock, block_id)
    if block is None:
        return 0
    bookings = db.session.scalars(sa.select(Booking).where(
        Booking.id.in_(booking_ids), Booking.state.in_(TOLD_STATES)).order_by(Booking.start_at, Booking.id)).all()
    by_student = {}
    for booking in bookings:
        by_student.setdefault(booking.student_id, []).append(booking)
    colleague = db.session.get(User, block.colleague_id) if block.colleague_id else None
    for sessions in by_student.values():
        _tell(block, sessions, colleague)
    return len(by_student)


def _tell(block, sessions, colleague):
    student, tutor = sessions[0].student, sessions[0].tutor
    title = f"{tutor.full_name} is out of office"
    lines = [f"{tutor.full_name} is out of office from {_local(block.start_at, student)} to "
             f"{_local(block.end_at, student)}.", "Your sessions in that period:"]
    lines += [f"- {b.subject.replace('-', ' ')}, {_local(b.start_at, student)} ({b.state})" for b in sessions]
    if block.note:
        lines.append(f"Note from {tutor.full_name}: {block.note}")
    if colleague is not None:
        lines.append(f"{tutor.full_name} suggests {colleague.full_name} (tutor #{colleague.id}) meanwhile.")
    body = "\n".join(lines)
    data = {"tutor_id": tutor.id, "busy_block_id": block.id, "booking_ids": [b.id for b in sessions],
            "start_at": block.start_at.isoformat(), "end_at": block.end_at.isoformat(), "note": block.note,
            "colleague": {"id": colleague.id, "full_name": colleague.full_name} if colleague else None}
    notifications.notify(student.id, "tutor_out_of_office", title, body, data)
    notifications.queue_email(student.email, f"Tutorhub: {title}", body, user_id=student.id,
                              kind="tutor_out_of_office")


def _local(instant, user):
    zone = user.timezone or "UTC"
    return instant.astimezone(ZoneInfo(zone)).strftime(f"%a %d %b %Y %H:%M ({zone})")


SYNCED_SOURCES = ("google", "outlook", "ics")


def sync_external_busy(user_id, source, changes, full=False):
    """Apply busy time read from a connected calendar: ``changes`` are dicts ``{external_id, start, end,
    removed}`` (aware UTC datetimes); each upserts or deletes the user's block of that ``source`` and external id.
    ``full``: the changes are the whole calendar, so the user's other blocks of the source go. Publishes
    ``availability.changed`` when anything changed. Returns (upserted, deleted)."""
    if source not in SYNCED_SOURCES:
        raise Invalid(f"Not a synced busy source: {source}.")
    changes = list(changes)
    stmt = sa.select(BusyBlock).where(BusyBlock.user_id == user_id, BusyBlock.source == source)
    if not full:  # an incremental sync reads only the blocks it names
        stmt = stmt.where(BusyBlock.external_id.in_({change["external_id"] for change in changes}))
    existing = {block.external_id: block for block in db.session.scalars(stmt)} if full or changes else {}
    seen, counts = set(), [0, 0]
    for change in changes:
        _apply_change(user_id, source, change, existing, seen, counts)
    if full:
        for external_id, block in list(existing.items()):
            if external_id not in seen:
                db.session.delete(block)
                counts[1] += 1
    if counts[0] or counts[1]:
        db.session.flush()
        publish("availability.changed", tutor_id=user_id)
    return tuple(counts)


def _apply_change(user_id, source, change, existing, seen, counts):
    """One change into ``existing`` (external id → block); counts = [upserted, deleted]."""
    external_id, start, end = change["external_id"], change.get("start"), change.get("end")
    block = existing.get(external_id)
    if change.get("removed") or not start or not end or start >= end:
        if block is not None and external_id not in seen:
            db.session.delete(block)
            existing.pop(external_id)
            counts[1] += 1
        return
    seen.add(external_id)
    if block is None:
        existing[external_id] = BusyBlock(user_id=user_id, source=source, external_id=external_id, start_at=start,
                                          end_at=end)
        db.session.add(existing[external_id])
        counts[0] += 1
    elif (block.start_at, block.end_at) != (start, end):
        block.start_at, block.end_at = start, end
        counts[0] += 1
