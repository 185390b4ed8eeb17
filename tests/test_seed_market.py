"""`flask seed-demo` builds a marketplace a newcomer can explore, and a second run changes nothing."""
import json
from datetime import timedelta

import sqlalchemy as sa

from app.analytics import services
from app.common.time import utcnow
from app.extensions import db
from app.messaging.models import Conversation, Message
from app.reviews.models import Review, TutorRatingMonthly
from app.scheduling.models import AvailabilityRule, Booking
from app.seed import seed_demo
from app.tutors.models import Subject, TutorDocument, TutorProfile, TutorSubject
from app.users.models import User
from tests.factories import SubjectFactory


def _count(model, *where):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def _snapshot():
    return tuple(_count(model) for model in (User, TutorProfile, TutorSubject, TutorDocument, AvailabilityRule,
                                             Booking, Review, Conversation, Message))


def test_seed_demo_builds_an_explorable_marketplace_idempotently(client, db):
    # each test starts from empty tables: a catalog as large as the migration's (32 subjects) again
    for _ in range(32 - _count(Subject)):
        SubjectFactory()
    seed_demo(market=True)
    first = _snapshot()
    assert _count(TutorProfile, TutorProfile.listed) >= 60
    catalog = set(db.session.scalars(sa.select(Subject.slug)))
    assert len(catalog) >= 32 and set(db.session.scalars(sa.select(TutorSubject.subject_id).distinct())) == set(
        db.session.scalars(sa.select(Subject.id)))
    assert len(set(db.session.scalars(sa.select(TutorProfile.currency)))) >= 6
    assert len(set(db.session.scalars(sa.select(TutorProfile.city)))) >= 10
    assert 10 <= _count(TutorProfile, TutorProfile.verified) < _count(TutorProfile)
    assert _count(TutorDocument, TutorDocument.status == "pending") > 0
    assert _count(Booking, Booking.state == "completed") >= 150
    assert len(set(db.session.scalars(sa.select(TutorRatingMonthly.month)))) >= 6
    assert _count(Review, Review.released_at.is_not(None)) >= 200
    assert _count(Conversation) >= 20 and _count(Message) >= 60

    page = client.get("/api/v1/tutors?sort=rating&page_size=20")
    assert page.status_code == 200 and len(page.get_json()) == 20
    assert json.loads(page.headers["X-Pagination"])["total_pages"] >= 3
    top = page.get_json()[0]
    summary = client.get(f"/api/v1/tutors/{top['id']}/rating-summary").get_json()
    assert (summary["average"], summary["bayesian"], summary["count"]) == (
        top["rating"]["average"], top["rating"]["bayesian"], top["rating"]["count"])

    # the demo's match log has both A/B arms (by the students' stable hash), so the analytics split shows both
    arms = services.report("matching", utcnow() - timedelta(days=30), utcnow(), "month").totals
    assert arms["shown_fixed"].sum() > 0 and arms["shown_learned"].sum() > 0

    seed_demo(market=True)
    db.session.expire_all()
    assert _snapshot() == first
