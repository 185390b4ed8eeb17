"""Incremental aggregates: the summary equals a hand computation, and search sorts by it."""
from datetime import date

import pytest

from app.common.transactions import unit_of_work
from app.extensions import db
from app.reviews import services
from app.reviews.models import Review, TutorRatingMonthly, TutorRatingStats
from app.scheduling.models import Booking
from app.tutors.models import TutorProfile
from tests.conftest import assert_error
from tests.factories import TutorProfileFactory, UserFactory, completed_booking

FIRST = {"clarity": 5, "knowledge": 4, "responsiveness": 3, "punctuality": 2, "overall": 4, "would_recommend": True}
SECOND = {"clarity": 3, "knowledge": 5, "responsiveness": 4, "punctuality": 4, "overall": 5,
          "would_recommend": False}


@pytest.fixture
def fixed_prior(app):
    app.config["REVIEWS_BAYES_PRIOR_MEAN"] = 3.0
    yield
    app.config["REVIEWS_BAYES_PRIOR_MEAN"] = None


def _two_released_sessions(reviews, tutor):
    first, second = completed_booking(tutor=tutor), completed_booking(tutor=tutor)
    reviews.student(first, **FIRST)
    reviews.tutor(first)
    reviews.tutor(second)
    reviews.student(second, **SECOND)
    # A third session reviewed by the student only: unreleased, so not counted.
    third = completed_booking(tutor=tutor)
    reviews.student(third, overall=1, clarity=1, knowledge=1, responsiveness=1, punctuality=1)
    return first, second, third


def test_summary_equals_hand_computation(reviews, tutor, fixed_prior):
    _two_released_sessions(reviews, tutor)
    summary = reviews.summary(tutor.id)
    assert summary["count"] == 2
    assert summary["averages"] == {"clarity": 4.0, "knowledge": 4.5, "responsiveness": 3.5, "punctuality": 3.0,
                                   "overall": 4.5}
    # (C·m + Σoverall) / (C + n) = (10·3 + 9) / 12
    assert summary["bayesian"] == pytest.approx(39 / 12, abs=1e-4)
    assert summary["distribution"] == {"1": 0, "2": 0, "3": 0, "4": 1, "5": 1}
    assert summary["recommend_rate"] == 0.5
    month = date.today().strftime("%Y-%m")
    assert summary["trend"] == [{"month": month, "count": 2, "average": 4.5}]
    profile = db.session.get(TutorProfile, tutor.id)
    db.session.refresh(profile)
    assert (profile.rating_count, profile.rating_avg) == (2, 4.5)
    assert profile.rating_bayes == pytest.approx(39 / 12)


def test_prior_mean_defaults_to_platform_mean(reviews, tutor):
    _two_released_sessions(reviews, tutor)
    other = completed_booking(tutor=TutorProfileFactory().user)
    reviews.student(other, overall=1)
    reviews.tutor(other)
    summary = reviews.summary(tutor.id)
    platform_mean = (4 + 5 + 1) / 3
    assert summary["prior"]["mean"] == pytest.approx(platform_mean, abs=1e-4)
    assert summary["bayesian"] == pytest.approx((10 * platform_mean + 9) / 12, abs=1e-4)
    # The periodic job brings every profile to the current prior.
    with unit_of_work():
        assert services.refresh_all_bayesian() == 2
    profile = db.session.get(TutorProfile, tutor.id)
    db.session.refresh(profile)
    assert profile.rating_bayes == pytest.approx((10 * platform_mean + 9) / 12)


def test_edit_of_released_review_adjusts_stats(client, auth, reviews, tutor, fixed_prior):
    first, _second, _third = _two_released_sessions(reviews, tutor)
    review_id = db.session.scalar(db.select(Review.id).where(Review.booking_id == first.id,
                                                             Review.author_role == "student"))
    response = client.patch(f"/api/v1/reviews/{review_id}", json={"overall": 2, "would_recommend": False},
                            headers=auth.headers(first.student))
    assert response.status_code == 200
    summary = reviews.summary(tutor.id)
    assert summary["count"] == 2
    assert summary["averages"]["overall"] == 3.5
    assert summary["distribution"] == {"1": 0, "2": 1, "3": 0, "4": 0, "5": 1}
    assert summary["recommend_rate"] == 0.0
    assert summary["trend"][0]["average"] == 3.5


def test_stats_match_a_full_recount(reviews, tutor):
    """The incremental rows equal what a scan of counted reviews gives."""
    _two_released_sessions(reviews, tutor)
    counted = db.session.scalars(db.select(Review).where(Review.counted.is_(True))).all()
    stats = db.session.get(TutorRatingStats, tutor.id)
    assert stats.count == len(counted) == 2
    assert stats.sum_overall == sum(review.overall for review in counted)
    assert stats.sum_punctuality == sum(review.punctuality for review in counted)
    monthly = db.session.scalars(db.select(TutorRatingMonthly)).all()
    assert sum(row.count for row in monthly) == 2


def test_empty_summary_and_unknown_tutor(reviews, client, tutor):
    summary = reviews.summary(tutor.id)
    assert summary["count"] == 0 and summary["bayesian"] is None and summary["trend"] == []
    assert_error(client.get("/api/v1/tutors/999999/rating-summary"), 404)
    assert_error(client.get(f"/api/v1/tutors/{UserFactory().id}/rating-summary"), 404)


def test_search_sorts_and_filters_by_review_ratings(client, reviews, fixed_prior):
    strong, weak = TutorProfileFactory(), TutorProfileFactory()
    for profile, overall in ((strong, 5), (weak, 2)):
        booking = completed_booking(tutor=profile.user)
        reviews.student(booking, overall=overall)
        reviews.tutor(booking)
    unrated = TutorProfileFactory()
    ids = [card["id"] for card in client.get("/api/v1/tutors?sort=rating").get_json()]
    assert ids == [strong.user_id, weak.user_id, unrated.user_id]
    ids = [card["id"] for card in client.get("/api/v1/tutors?min_rating=4").get_json()]
    assert ids == [strong.user_id]


def test_cached_platform_mean_is_dropped_when_aggregates_change(reviews, tutor):
    from app.extensions import redis_client
    from app.reviews.aggregation import PRIOR_CACHE_KEY

    booking = completed_booking(tutor=tutor)
    reviews.student(booking, overall=5)
    reviews.tutor(booking)
    assert reviews.summary(tutor.id)["prior"]["mean"] == 5.0
    assert float(redis_client.client.get(PRIOR_CACHE_KEY)) == 5.0
    other = completed_booking(tutor=TutorProfileFactory().user)
    reviews.student(other, overall=2)
    reviews.tutor(other)
    assert redis_client.client.get(PRIOR_CACHE_KEY) is None
    summary = reviews.summary(tutor.id)
    assert summary["prior"]["mean"] == 3.5
    assert summary["bayesian"] == pytest.approx((10 * 3.5 + 5) / 11, abs=1e-4)


def test_demo_seed_creates_released_reviews_once(app):
    from app.seed import seed_demo

    created = seed_demo()
    seed_demo()
    assert db.session.scalar(db.select(db.func.count()).select_from(Review)) == 4
    # the reviewed demo sessions and the disputed one (app/scheduling/dispute_seed.py), once
    assert db.session.scalar(db.select(db.func.count()).select_from(Booking)) == 3
    maria = created["maria.garcia@tutorhub.test"]
    stats = db.session.get(TutorRatingStats, maria.id)
    assert (stats.count, stats.sum_overall) == (1, 5)


def test_card_ordering_and_summary_show_one_rating(client, reviews):
    """Two tutors with the same single review rank equal and their cards show what their summaries say, though
    the platform mean moved between the two reviews (other reviews came in)."""
    from tests.factories import TutorProfileFactory, UserFactory, completed_booking

    first, second, other = (TutorProfileFactory().user for _ in range(3))
    reviews.student(completed_booking(tutor=first, student=UserFactory()), overall=5)
    for _ in range(3):
        reviews.student(completed_booking(tutor=other, student=UserFactory()), overall=2)
    reviews.student(completed_booking(tutor=second, student=UserFactory()), overall=5)
    cards = {card["id"]: card["rating"]
             for card in client.get("/api/v1/tutors?sort=rating&page_size=50").get_json()}
    assert cards[first.id] == cards[second.id]
    for tutor in (first, second, other):
        summary = reviews.summary(tutor.id)
        assert (summary["average"], summary["bayesian"], summary["count"]) == (
            cards[tutor.id]["average"], cards[tutor.id]["bayesian"], cards[tutor.id]["count"])
    order = [card["id"] for card in client.get("/api/v1/tutors?sort=rating&page_size=50").get_json()]
    assert order.index(first.id) < order.index(other.id) and order.index(second.id) < order.index(other.id)
