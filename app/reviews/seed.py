"""Demo data for `flask seed-demo`: two completed sessions reviewed by both sides (released)."""
from datetime import timedelta

import sqlalchemy as sa

from app.common.time import utcnow
from app.extensions import db
from app.reviews import reviews
from app.scheduling.models import Booking

DEMO_NOTE = "Demo session (reviews seed)"
DEMO_SESSIONS = [
    ("maria.garcia@tutorhub.test", "sam.student@tutorhub.test", "calculus",
     {"clarity": 5, "knowledge": 5, "responsiveness": 4, "punctuality": 4, "overall": 5, "would_recommend": True,
      "comment": "María explained limits with pictures; it finally clicked."},
     {"preparedness": 4, "engagement": 5, "punctuality": 5, "private_note": "Revise the chain rule before next time."}),
    ("yuki.tanaka@tutorhub.test", "lea.martin@tutorhub.test", "japanese",
     {"clarity": 4, "knowledge": 5, "responsiveness": 5, "punctuality": 3, "overall": 4, "would_recommend": True,
      "comment": "Great drills for the N4; started ten minutes late."},
     {"preparedness": 5, "engagement": 4, "punctuality": 5, "private_note": "Knows hiragana well; work on kanji."}),
]


def seed_reviews(users):
    """Idempotent: the demo sessions are created once, identified by their note."""
    if db.session.scalar(sa.select(Booking.id).where(Booking.note == DEMO_NOTE).limit(1)):
        return
    start_at = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(days=3)
    for tutor_email, student_email, subject, student_review, tutor_review in DEMO_SESSIONS:
        tutor, student = users[tutor_email], users[student_email]
        end_at = start_at + timedelta(hours=1)
        booking = Booking(tutor_id=tutor.id, student_id=student.id, subject=subject, note=DEMO_NOTE,
                          state="completed", start_at=start_at, end_at=end_at, duration_minutes=60,
                          tutor_range_start=start_at, tutor_range_end=end_at, sequence=0,
                          confirmed_at=start_at - timedelta(days=1), completed_at=end_at)
        db.session.add(booking)
        db.session.commit()
        reviews.create_review(student, booking.id, student_review)
        reviews.create_review(tutor, booking.id, tutor_review)
