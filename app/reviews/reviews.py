"""Writing, editing, replying to and reading session reviews, with the double-blind release rule.

Neither participant sees the other's review of a session until both have reviewed it (then both are released
together) or the 30-day window after the session closes (``release_due``, a periodic job). Unreleased reviews
are only shown to their author and to admins, and never count in the aggregates. Behind
``app.reviews.services``; nothing here commits.
"""
import re
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import with_expression

from app.common.errors import Conflict, Invalid, NotFound
from app.common.events import publish
from app.common.time import utcnow
from app.extensions import db
from app.reviews import aggregation
from app.reviews.models import STUDENT_DIMENSIONS, TUTOR_DIMENSIONS, Review
from app.scheduling.models import Booking
from app.users.models import User

STUDENT_FIELDS = set(STUDENT_DIMENSIONS) | {"comment", "would_recommend"}
TUTOR_FIELDS = set(TUTOR_DIMENSIONS) | {"comment", "private_note"}
# Bookings that never happened do not let a tutor read a student's ratings.
NOT_A_RELATIONSHIP = ("rejected", "expired")


def contains_blocked_word(*texts):
    words = [word for word in current_app.config["REVIEWS_BLOCKLIST"] if word]
    if not words:
        return False
    pattern = re.compile(r"\b(?:" + "|".join(re.escape(word) for word in words) + r")\b", re.IGNORECASE)
    return any(pattern.search(text or "") for text in texts)


def _check_fields(role, data, partial):
    allowed = STUDENT_FIELDS if role == "student" else TUTOR_FIELDS
    foreign = sorted(set(data) - allowed)
    if foreign:
        message = f"Not allowed for a {role} review."
        raise Invalid(f"A {role} review does not take these fields.", errors={name: [message] for name in foreign})
    if not partial:
        required = (STUDENT_FIELDS - {"comment"}) if role == "student" else set(TUTOR_DIMENSIONS)
        missing = sorted(required - set(data))
        if missing:
            raise Invalid("Missing ratings.", errors={name: ["Missing data for required field."] for name in missing})


def _flag_blocklist(review):
    review.blocklisted = contains_blocked_word(review.comment, review.reply)
    if review.blocklisted and review.status == "visible":
        review.queued = True


def window_closes_at(booking):
    """When the booking's review window closes (REVIEWS_WINDOW_DAYS after the session ends)."""
    return booking.end_at + timedelta(days=current_app.config["REVIEWS_WINDOW_DAYS"])


def create_review(user, booking_id, data):
    booking = db.session.get(Booking, booking_id)
    if booking is None or user.id not in booking.participant_ids():
        raise NotFound("Session not found.")
    role = "student" if user.id == booking.student_id else "tutor"
    _check_fields(role, data, partial=False)
    # Both participants reviewing at once: the booking lock makes the second one see the first and release both.
    db.session.execute(sa.select(Booking.id).where(Booking.id == booking.id).with_for_update())
    if booking.state != "completed":
        raise Conflict("The session can be reviewed once it is completed.")
    closes_at = window_closes_at(booking)
    now = utcnow()
    if now >= closes_at:
        raise Conflict("The review window for this session has closed.")
    if db.session.scalar(sa.select(Review.id).where(Review.booking_id == booking.id, Review.author_id == user.id)):
        raise Conflict("You have already reviewed this session.")
    review = Review(booking_id=booking.id, author_id=user.id, author_role=role, tutor_id=booking.tutor_id,
                    student_id=booking.student_id, window_closes_at=closes_at, comment="",
                    status="visible", queued=False, blocklisted=False, flag_count=0, helpful_count=0,
                    counted=False, created_at=now, updated_at=now)
    for name, value in data.items():
        setattr(review, name, value if value is not None or name != "comment" else "")
    _flag_blocklist(review)
    db.session.add(review)
    try:
        db.session.flush()
    except IntegrityError as error:  # the other request's insert won; the unit of work rolls back
        raise Conflict("You have already reviewed this session.") from error
    publish("review.submitted", review_id=review.id, booking_id=booking.id, author_role=role,
            student_id=booking.student_id, tutor_id=booking.tutor_id, overall=review.overall)
    other = db.session.scalar(_locked(sa.select(Review).where(Review.booking_id == booking.id, Review.id != review.id)))
    if other is not None:
        for item in (review, other):
            _release(item, now)
    return review


def _locked(stmt, **options):
    """Row lock on the reviews row only (the author is joined eagerly), re-read after waiting for it."""
    return stmt.with_for_update(of=Review, **options).execution_options(populate_existing=True)


def _release(review, moment):
    if review.released_at is None:
        review.released_at = moment
        aggregation.sync(review)
        publish("review.published", review_id=review.id, booking_id=review.booking_id, author_id=review.author_id,
                author_role=review.author_role, student_id=review.student_id, tutor_id=review.tutor_id,
                released_at=moment.isoformat())


def release_due(now=None, limit=1000):
    """Release reviews whose 30-day window has closed; idempotent. Returns how many were released."""
    now = now or utcnow()
    reviews = db.session.scalars(_locked(
        sa.select(Review).where(Review.released_at.is_(None), Review.window_closes_at <= now)
        .order_by(Review.id).limit(limit), skip_locked=True,
    )).all()
    for review in reviews:
        _release(review, now)
    return len(reviews)


def _own_review(user, review_id):
    review = db.session.scalar(_locked(sa.select(Review).where(Review.id == review_id)))
    if review is None or review.author_id != user.id:
        raise NotFound("Review not found.")
    return review


def edit_review(user, review_id, changes):
    review = _own_review(user, review_id)
    _check_fields(review.author_role, changes, partial=True)
    now = utcnow()
    if now > review.created_at + timedelta(days=current_app.config["REVIEWS_EDIT_DAYS"]):
        raise Conflict("A review can only be edited within 7 days of writing it.")
    if review.status != "visible":
        raise Conflict("A moderated review cannot be edited.")
    aggregation.uncount(review)
    for name, value in changes.items():
        setattr(review, name, value if value is not None or name != "comment" else "")
    review.edited_at = now
    _flag_blocklist(review)
    aggregation.sync(review)
    return review


def can_view(user, review):
    """Whether ``user`` (or None for the public) may read ``review``."""
    if user is not None and (review.author_id == user.id or user.has_role("admin")):
        return True
    if review.released_at is None or review.status != "visible":
        return False
    if review.author_role == "student":
        return True
    if user is None:
        return False
    return user.id == review.student_id or tutor_knows_student(user.id, review.student_id)


def tutor_knows_student(tutor_id, student_id):
    return db.session.scalar(
        sa.select(sa.literal(True)).where(
            Booking.tutor_id == tutor_id, Booking.student_id == student_id,
            Booking.state.not_in(NOT_A_RELATIONSHIP),
        ).limit(1)
    ) is not None


def visible_review(user, review_id):
    review = db.session.get(Review, review_id)
    if review is None or not can_view(user, review):
        raise NotFound("Review not found.")
    return review


def reply(user, review_id, text):
    visible_review(user, review_id)
    review = db.session.scalar(_locked(sa.select(Review).where(Review.id == review_id)))
    if review.author_role != "student" or review.tutor_id != user.id:
        raise NotFound("Review not found.")
    if review.released_at is None or review.status != "visible":
        raise NotFound("Review not found.")
    if review.reply is not None:
        raise Conflict("This review already has a reply.")
    review.reply = text
    review.replied_at = utcnow()
    _flag_blocklist(review)
    return review


def session_reviews(user, booking_id):
    booking = db.session.get(Booking, booking_id)
    if booking is None or (user.id not in booking.participant_ids() and not user.has_role("admin")):
        raise NotFound("Session not found.")
    reviews = db.session.scalars(sa.select(Review).where(Review.booking_id == booking_id).order_by(Review.id)).all()
    return [review for review in reviews if can_view(user, review)]


def require_tutor(tutor_id):
    tutor = db.session.get(User, tutor_id)
    if tutor is None or not tutor.has_role("tutor"):
        raise NotFound("Tutor not found.")
    return tutor


def public_reviews_query(tutor_id, sort="newest"):
    require_tutor(tutor_id)
    stmt = sa.select(Review).where(
        Review.tutor_id == tutor_id, Review.author_role == "student",
        Review.released_at.is_not(None), Review.status == "visible",
    )
    if sort == "most_helpful":
        return stmt.order_by(Review.helpful_count.desc(), Review.created_at.desc(), Review.id.desc())
    return stmt.order_by(Review.created_at.desc(), Review.id.desc())


def student_ratings_query(user, student_id):
    """Tutor → student reviews: for admins and tutors the student has booked; 404 for everyone else.

    Each row's ``visible_note`` is its private note for the note's author and admins, null for other tutors."""
    student = db.session.get(User, student_id)
    allowed = user.has_role("admin") or (user.has_role("tutor") and tutor_knows_student(user.id, student_id))
    if student is None or not allowed:
        raise NotFound("Student not found.")
    note = Review.private_note if user.has_role("admin") else sa.case(
        (Review.author_id == user.id, Review.private_note), else_=sa.null())
    return sa.select(Review).where(
        Review.student_id == student_id, Review.author_role == "tutor",
        Review.released_at.is_not(None), Review.status == "visible",
    ).options(with_expression(Review.visible_note, note)).execution_options(populate_existing=True).order_by(
        Review.created_at.desc(), Review.id.desc())


def tutor_summary(tutor_id):
    require_tutor(tutor_id)
    return aggregation.summary(tutor_id)
