"""Job functions, the periodic schedule and the inline periodic runner of the embedded default."""
import time
from datetime import timedelta

import sqlalchemy as sa

from app.common.time import utcnow
from app.notifications.models import OutboxMessage
from jobs import tasks
from jobs.schedule import PERIODIC_JOBS
from jobs.worker import start_inline_periodic
from tests.factories import OutboxMessageFactory


def test_outbox_jobs_are_idempotent(db, outbox_dir):
    first, second = OutboxMessageFactory(), OutboxMessageFactory()
    assert tasks.deliver_outbox_message(first.id) == "sent"
    assert tasks.deliver_outbox_message(first.id) is None
    assert tasks.dispatch_due_outbox() == 1
    assert tasks.dispatch_due_outbox() == 0
    db.session.expire_all()
    assert {db.session.get(OutboxMessage, m.id).status for m in (first, second)} == {"sent"}


def test_schedule_lists_callables_with_intervals():
    assert (tasks.dispatch_due_outbox, 30, "default") in PERIODIC_JOBS
    for func, interval, queue in PERIODIC_JOBS:
        assert callable(func) and interval > 0 and queue in ("high", "default", "low")


def test_inline_periodic_runner_dispatches_due_messages(app, db):
    message = OutboxMessageFactory()
    stop = start_inline_periodic(app)
    try:
        deadline = time.monotonic() + 10
        status = "pending"
        while time.monotonic() < deadline and status != "sent":
            time.sleep(0.1)
            db.session.expire_all()
            status = db.session.get(OutboxMessage, message.id).status
    finally:
        stop.set()
    assert status == "sent"


def test_review_jobs_commit_their_work(app, db):
    from app.reviews.models import Review, TutorRatingStats
    from app.tutors.models import TutorProfile
    from tests.factories import ReviewFactory, TutorProfileFactory, completed_booking

    profile = TutorProfileFactory()
    booking = completed_booking(tutor=profile.user)
    ReviewFactory(booking=booking, window_closes_at=utcnow() - timedelta(seconds=1))
    assert tasks.release_closed_review_windows() == 1
    db.session.rollback()
    assert db.session.scalar(sa.select(Review.released_at)) is not None
    assert db.session.get(TutorRatingStats, profile.user_id).count == 1
    assert tasks.refresh_bayesian_ratings() == 1
    db.session.rollback()
    assert db.session.get(TutorProfile, profile.user_id).rating_bayes is not None
