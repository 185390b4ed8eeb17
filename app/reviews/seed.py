"""Demo data for `flask seed-demo`: the demo completed sessions (scheduling's seed) reviewed by both sides, so
both reviews are released. Running it twice changes nothing; the caller's unit of work commits."""
from datetime import timedelta

import sqlalchemy as sa

from app.extensions import db
from app.reviews import aggregation, services
from app.reviews.models import Review
from app.reviews.reviews import window_closes_at

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


def seed_market_reviews(sessions, bookings):
    """Both sides' reviews of the planned sessions, written when the session ended (so ratings spread over
    months), released and counted once."""
    booking_ids = [booking.id for booking in bookings.values()]
    done = {tuple(row) for row in db.session.execute(sa.select(Review.booking_id, Review.author_role)
                                                     .where(Review.booking_id.in_(booking_ids)))}
    written_now = []
    for session in sessions:
        booking = bookings[session["key"]]
        for role, data in (("student", session["student_review"]), ("tutor", session["tutor_review"])):
            if data is None or (booking.id, role) in done:
                continue
            data = {"comment": "", **data}
            written = booking.end_at + timedelta(hours=20)
            review = Review(booking_id=booking.id, author_id=booking.student_id if role == "student" else booking.tutor_id,
                            author_role=role, tutor_id=booking.tutor_id, student_id=booking.student_id,
                            window_closes_at=window_closes_at(booking), status="visible", queued=False,
                            blocklisted=False, flag_count=0, helpful_count=0, counted=False, created_at=written,
                            updated_at=written, released_at=written, **data)
            db.session.add(review)
            written_now.append(review)
    db.session.flush()
    aggregation.sync_many(written_now)
