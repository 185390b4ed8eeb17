"""Flags, the moderation queue, admin decisions (hide / restore / remove / approve with an audit trail) and
helpful votes.

A review enters the queue when someone flags it or its text contains a blocklisted word; an admin decision
takes it out. ``approve`` dismisses the flags of a wrongly flagged review: it stays visible, its flags are
deleted, one audit row is written and nobody is emailed. Hidden and removed reviews leave the aggregates in the same transaction; the author is emailed
(the outbox row is part of that transaction). Behind ``app.reviews.services``; nothing here commits.
"""
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.common.errors import Conflict, Invalid, NotFound
from app.common.time import utcnow
from app.extensions import db
from app.notifications.services import queue_email
from app.reviews import aggregation
from app.reviews.models import (
    Review,
    ReviewFlag,
    ReviewHelpfulVote,
    ReviewModerationEvent,
)
from app.reviews.reviews import visible_review

# action → (statuses it applies to, resulting status, past tense for the email)
TRANSITIONS = {
    "hide": (("visible",), "hidden", "hidden"),
    "restore": (("hidden",), "visible", "restored"),
    "remove": (("visible", "hidden"), "removed", "removed"),
    "approve": (("visible",), "visible", "approved"),
}
QUEUE_FILTERS = ("queued", "visible", "hidden", "removed")


def flag(user, review_id, reason):
    review = visible_review(user, review_id)
    if review.author_id == user.id:
        raise Invalid("You cannot flag your own review.", errors={"review_id": ["This is your own review."]})
    if db.session.scalar(
        sa.select(ReviewFlag.id).where(ReviewFlag.review_id == review.id, ReviewFlag.user_id == user.id)
    ):
        raise Conflict("You have already flagged this review.")
    db.session.add(ReviewFlag(review_id=review.id, user_id=user.id, reason=reason))
    try:
        db.session.flush()
    except IntegrityError as error:  # a concurrent flag by the same user won; the unit of work rolls back
        raise Conflict("You have already flagged this review.") from error
    review.flag_count = Review.flag_count + 1
    if review.status == "visible":
        review.queued = True
    return review


def queue_query(status="queued"):
    stmt = sa.select(Review)
    if status == "queued":
        stmt = stmt.where(Review.queued.is_(True))
    else:
        stmt = stmt.where(Review.status == status)
    return stmt.order_by(Review.flag_count.desc(), Review.created_at, Review.id)


def moderate(admin, review_id, action, reason):
    review = db.session.get(Review, review_id, with_for_update={"of": Review})
    if review is None:
        raise NotFound("Review not found.")
    allowed_from, new_status, past = TRANSITIONS[action]
    if review.status not in allowed_from:
        raise Conflict(f"A {review.status} review cannot be {past}.")
    if action == "approve":
        return _approve(admin, review, reason)
    review.status = new_status
    review.queued = False
    db.session.add(ReviewModerationEvent(review_id=review.id, admin_id=admin.id, action=action, reason=reason,
                                         at=utcnow()))
    aggregation.sync(review)
    author = review.author
    queue_email(
        author.email, f"Your review was {past}",
        f"Hello {author.full_name},\n\nA moderator {past} your review of session #{review.booking_id}.\n"
        f"Reason: {reason}\n\nThe Tutorhub team",
        user_id=author.id, kind="review_moderated",
        dedupe_key=f"review-moderated:{review.id}:{action}:{utcnow().isoformat()}",
    )
    return review


def _approve(admin, review, reason):
    """Dismiss the flags: the review stays visible and leaves the queue; no email (nothing changed for its
    author)."""
    if not review.queued and not review.flag_count:
        raise Conflict("This review is not in the moderation queue; there is nothing to approve.")
    review.flags.clear()  # delete-orphan: the flag rows go; a reader may flag it again later
    review.flag_count = 0
    review.queued = False
    db.session.add(ReviewModerationEvent(review_id=review.id, admin_id=admin.id, action="approve", reason=reason,
                                         at=utcnow()))
    return review


def moderation_events(review_id):
    if db.session.get(Review, review_id) is None:
        raise NotFound("Review not found.")
    return db.session.scalars(
        sa.select(ReviewModerationEvent).where(ReviewModerationEvent.review_id == review_id)
        .order_by(ReviewModerationEvent.id)
    ).all()


def mark_helpful(user, review_id):
    review = visible_review(user, review_id)
    if not review.is_public:
        raise NotFound("Review not found.")
    if review.author_id == user.id:
        raise Invalid("You cannot mark your own review as helpful.", errors={"review_id": ["This is your own review."]})
    if db.session.get(ReviewHelpfulVote, (review.id, user.id)) is not None:
        raise Conflict("You have already marked this review as helpful.")
    db.session.add(ReviewHelpfulVote(review_id=review.id, user_id=user.id))
    try:
        db.session.flush()
    except IntegrityError as error:  # a concurrent vote by the same user won; the unit of work rolls back
        raise Conflict("You have already marked this review as helpful.") from error
    db.session.execute(sa.update(Review).where(Review.id == review.id)
                       .values(helpful_count=Review.helpful_count + 1)
                       .execution_options(synchronize_session=False))
    db.session.refresh(review)
    return review
