"""``app.reviews.services`` is the domain's door. Nothing behind it commits: a review, its aggregates and the
tutor profile's rating columns (written through tutors' services) commit or roll back together."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.common.time import utcnow
from app.common.transactions import unit_of_work
from app.reviews import services
from app.reviews.models import Review, TutorRatingStats
from app.tutors.models import TutorProfile
from tests.factories import completed_booking
from tests.reviews.conftest import STUDENT_REVIEW, TUTOR_REVIEW

PUBLIC = ("create_review", "edit_review", "reply", "session_reviews", "public_reviews_query", "student_ratings_query",
          "tutor_summary", "release_due", "flag", "mark_helpful", "queue_query", "moderate", "moderation_events",
          "feedback_insights", "rating_drops", "refresh_all_bayesian")


class Rollback(Exception):
    pass


def _ratings(db, tutor_id):
    db.session.expire_all()
    profile = db.session.get(TutorProfile, tutor_id)
    return profile.rating_count, profile.rating_avg


def test_services_is_the_public_face():
    assert all(callable(getattr(services, name)) for name in PUBLIC)
    assert services.QUEUE_FILTERS == ("queued", "visible", "hidden", "removed")


def test_a_rolled_back_release_leaves_neither_reviews_nor_ratings(app, db, booking, tutor):
    with pytest.raises(Rollback), unit_of_work():
        services.create_review(booking.student, booking.id, dict(STUDENT_REVIEW))
        services.create_review(booking.tutor, booking.id, dict(TUTOR_REVIEW))
        assert _ratings(db, tutor.id) == (1, 4.0)  # same transaction: the profile already moved
        raise Rollback
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Review)) == 0
    assert db.session.get(TutorRatingStats, tutor.id) is None
    assert _ratings(db, tutor.id) == (0, None)
    with unit_of_work():
        services.create_review(booking.student, booking.id, dict(STUDENT_REVIEW))
        services.create_review(booking.tutor, booking.id, dict(TUTOR_REVIEW))
    db.session.rollback()
    assert _ratings(db, tutor.id) == (1, 4.0)


def test_release_due_and_bayesian_refresh_commit_only_with_the_unit(app, db, tutor):
    booking = completed_booking(tutor=tutor, start_at=utcnow() - timedelta(days=20))
    with unit_of_work():
        services.create_review(booking.student, booking.id, dict(STUDENT_REVIEW))
    later = utcnow() + timedelta(days=11)
    with pytest.raises(RuntimeError, match="outside a unit of work"):  # releasing publishes review.published
        services.release_due(now=later)
    db.session.rollback()
    assert _ratings(db, tutor.id) == (0, None)
    with unit_of_work():
        assert services.release_due(now=later) == 1
    with unit_of_work():
        assert services.refresh_all_bayesian() == 1
    db.session.rollback()
    assert _ratings(db, tutor.id) == (1, 4.0)
