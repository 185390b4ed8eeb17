"""Session notes: the tutor's note on a completed session (topics, homework, a 1–5 progress mark)."""
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from app.common import time as clock
from app.common.errors import Conflict, Forbidden, NotFound
from app.extensions import db
from app.progress.models import SessionNote
from app.scheduling import services as scheduling

EDITABLE = ("topics", "homework", "progress_mark")


def _booking_as_tutor(user, booking_id):
    """The booking when the user tutors it; its student gets 403, anyone else 404 (scheduling's rule)."""
    booking = scheduling.get_booking(user, booking_id)
    if booking.tutor_id != user.id:
        if booking.student_id == user.id:
            raise Forbidden("Only the session's tutor writes its note.")
        raise NotFound("No such booking.")
    return booking


def create_note(user, booking_id, data):
    """The tutor's note on a completed session, once (409 before completion or when one exists)."""
    booking = _booking_as_tutor(user, booking_id)
    if booking.state != "completed":
        raise Conflict(f"Notes are written after the session is completed; this one is {booking.state}.")
    if db.session.get(SessionNote, booking.id) is not None:
        raise Conflict("This session already has a note; edit it instead.")
    note = SessionNote(booking_id=booking.id, tutor_id=booking.tutor_id, student_id=booking.student_id,
                       subject=booking.subject, session_at=booking.start_at, topics=data["topics"],
                       homework=data.get("homework") or "", progress_mark=data["progress_mark"])
    db.session.add(note)
    db.session.flush()
    return note


def edit_note(user, booking_id, changes, now=None):
    """The tutor edits the note within SESSION_NOTE_EDIT_DAYS of writing it (409 after)."""
    _booking_as_tutor(user, booking_id)
    note = _note(booking_id)
    days = current_app.config["SESSION_NOTE_EDIT_DAYS"]
    if (now or clock.utcnow()) > note.created_at + timedelta(days=days):
        raise Conflict(f"A session note can be edited for {days} days after it is written.")
    for name in EDITABLE:
        if name in changes:
            setattr(note, name, changes[name] if name != "homework" else changes[name] or "")
    db.session.flush()
    return note


def get_note(user, booking_id):
    """The note, for the session's tutor and student and admins (anyone else: 404; no note yet: 404)."""
    scheduling.get_booking(user, booking_id)
    return _note(booking_id)


def _note(booking_id):
    note = db.session.get(SessionNote, booking_id)
    if note is None:
        raise NotFound("This session has no note yet.")
    return note


def notes_of_student(student_id, until=None):
    """The student's session notes (sessions before ``until``), oldest first."""
    stmt = sa.select(SessionNote).where(SessionNote.student_id == student_id)
    if until is not None:
        stmt = stmt.where(SessionNote.session_at < until)
    return db.session.scalars(stmt.order_by(SessionNote.session_at, SessionNote.booking_id)).all()


def notes_of_tutor(tutor_id, since, until):
    """The tutor's notes on sessions in ``[since, until)``, oldest first."""
    return db.session.scalars(sa.select(SessionNote).where(
        SessionNote.tutor_id == tutor_id, SessionNote.session_at >= since, SessionNote.session_at < until)
        .order_by(SessionNote.session_at, SessionNote.booking_id)).all()
