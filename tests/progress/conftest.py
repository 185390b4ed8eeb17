"""Progress test helpers: people, subjects, sessions at fixed past times and notes written directly."""
from datetime import UTC, datetime, timedelta

import pytest

from app.extensions import db
from app.progress.models import SessionNote
from tests.factories import BookingFactory, SubjectFactory, TutorFactory, UserFactory


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def session(tutor, student, start, subject="calculus", minutes=60, state="completed", **kwargs):
    """A booking at a fixed time (completed by default)."""
    extra = {"completed_at": start + timedelta(minutes=minutes)} if state == "completed" else {}
    return BookingFactory(tutor=tutor, student=student, subject=subject, start_at=start, duration_minutes=minutes,
                          state=state, **{**extra, **kwargs})


def note(booking, mark, topics="Topics", created_at=None):
    """A session note written directly (the API path is tested in test_notes.py)."""
    row = SessionNote(booking_id=booking.id, tutor_id=booking.tutor_id, student_id=booking.student_id,
                      subject=booking.subject, session_at=booking.start_at, topics=topics, homework="",
                      progress_mark=mark)
    if created_at is not None:
        row.created_at = row.updated_at = created_at
    db.session.add(row)
    db.session.commit()
    return row


@pytest.fixture
def subjects(db):
    return [SubjectFactory(slug=slug) for slug in ("calculus", "statistics")]


@pytest.fixture
def student(subjects):
    return UserFactory()


@pytest.fixture
def other_student(subjects):
    return UserFactory()


@pytest.fixture
def tutor(subjects):
    return TutorFactory()


@pytest.fixture
def other_tutor(subjects):
    return TutorFactory()
