"""PostgreSQL: both participants reviewing at the same moment still release both reviews, counted once."""
import threading

import pytest

from app.extensions import db
from app.reviews.models import Review, TutorRatingStats
from tests.reviews.conftest import STUDENT_REVIEW, TUTOR_REVIEW


@pytest.mark.postgres
@pytest.mark.parametrize("attempt", range(3))
def test_simultaneous_reviews_release_both(app, auth, booking, attempt):
    url = f"/api/v1/sessions/{booking.id}/reviews"
    jobs = [(auth.headers(booking.student), STUDENT_REVIEW), (auth.headers(booking.tutor), TUTOR_REVIEW)]
    barrier = threading.Barrier(len(jobs))
    statuses = []

    def post(headers, body):
        with app.app_context():
            client = app.test_client()
            barrier.wait()
            statuses.append(client.post(url, json=body, headers=headers).status_code)
            db.session.remove()

    threads = [threading.Thread(target=post, args=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert statuses == [201, 201]
    db.session.rollback()
    reviews = db.session.scalars(db.select(Review).where(Review.booking_id == booking.id)).all()
    assert len(reviews) == 2 and all(review.released_at is not None for review in reviews)
    assert db.session.get(TutorRatingStats, booking.tutor_id).count == 1
