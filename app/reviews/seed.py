"""Demo data for `flask seed-demo`: the demo completed sessions (scheduling's seed) reviewed by both sides, so
both reviews are released. Running it twice changes nothing; the caller's unit of work commits."""
import sqlalchemy as sa

from app.extensions import db
from app.reviews import services
from app.reviews.models import Review

# (tutor email, student email) of a demo session → the student's review, the tutor's review
DEMO_REVIEWS = {
    ("maria.garcia@tutorhub.test", "sam.student@tutorhub.test"): (
        {"clarity": 5, "knowledge": 5, "responsiveness": 4, "punctuality": 4, "overall": 5, "would_recommend": True,
         "comment": "María explained limits with pictures; it finally clicked."},
        {"preparedness": 4, "engagement": 5, "punctuality": 5, "private_note": "Revise the chain rule before next time."},
    ),
    ("yuki.tanaka@tutorhub.test", "lea.martin@tutorhub.test"): (
        {"clarity": 4, "knowledge": 5, "responsiveness": 5, "punctuality": 3, "overall": 4, "would_recommend": True,
         "comment": "Great drills for the N4; started ten minutes late."},
        {"preparedness": 5, "engagement": 4, "punctuality": 5, "private_note": "Knows hiragana well; work on kanji."},
    ),
}


def seed_reviews(users, sessions):
    """Review each demo session ({(tutor email, student email): booking id}) once per side."""
    for (tutor_email, student_email), booking_id in sessions.items():
        reviews = DEMO_REVIEWS.get((tutor_email, student_email))
        if reviews is None:
            continue
        student_review, tutor_review = reviews
        for author, review in ((users[student_email], student_review), (users[tutor_email], tutor_review)):
            if not _has_reviewed(author.id, booking_id):
                services.create_review(author, booking_id, dict(review))


def _has_reviewed(author_id, booking_id):
    return db.session.scalar(
        sa.select(Review.id).where(Review.booking_id == booking_id, Review.author_id == author_id)
    ) is not None
