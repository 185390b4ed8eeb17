"""Feedback insights (pandas) and the admin list of rating drops."""
from datetime import timedelta

import pytest

from app.common.time import utcnow
from app.extensions import db
from app.reviews.insights import TIPS
from app.reviews.models import Review
from tests.conftest import assert_error
from tests.factories import TutorProfileFactory, UserFactory, completed_booking

GOOD = {"clarity": 5, "knowledge": 5, "responsiveness": 5, "punctuality": 5, "overall": 5}


def _released(reviews, tutor, days_ago, **ratings):
    booking = completed_booking(tutor=tutor)
    review = reviews.student(booking, **{**GOOD, **ratings})
    row = db.session.get(Review, review["id"])
    row.created_at = utcnow() - timedelta(days=days_ago)
    db.session.commit()
    reviews.tutor(booking)


@pytest.fixture
def declining_tutor(reviews, tutor):
    """Late and falling: punctuality 2 throughout, overall 5 → 2 over the last 90 days."""
    for days_ago, overall in ((80, 5), (60, 5), (20, 2), (10, 2)):
        _released(reviews, tutor, days_ago, punctuality=2, overall=overall)
    for _ in range(2):
        _released(reviews, TutorProfileFactory().user, 30, clarity=4)
    return tutor


def test_my_insights_name_the_weakest_dimension(client, auth, declining_tutor):
    response = client.get("/api/v1/tutors/me/feedback-insights", headers=auth.headers(declining_tutor))
    assert response.status_code == 200
    body = response.get_json()
    assert body["review_count"] == 4
    assert body["weakest_dimension"] == "punctuality"
    punctuality = next(item for item in body["dimensions"] if item["dimension"] == "punctuality")
    # Per-tutor punctuality averages: 2, 5, 5 → median 5.
    assert punctuality == {"dimension": "punctuality", "average": 2.0, "platform_median": 5.0, "difference": -3.0}
    assert body["trend"]["direction"] == "declining"
    assert body["trend"]["first_half_average"] == 5.0 and body["trend"]["second_half_average"] == 2.0
    assert body["trend"]["slope_per_30_days"] < 0
    assert TIPS["punctuality"] in body["suggestions"] and TIPS["declining"] in body["suggestions"]
    assert TIPS["clarity"] not in body["suggestions"]


def test_insights_without_reviews(client, auth, tutor):
    body = client.get("/api/v1/tutors/me/feedback-insights", headers=auth.headers(tutor)).get_json()
    assert body["review_count"] == 0 and body["weakest_dimension"] is None and body["suggestions"] == []
    assert body["trend"]["direction"] == "insufficient_data"


def test_insights_authorization(client, auth, admin, declining_tutor):
    assert_error(client.get("/api/v1/tutors/me/feedback-insights"), 401)
    assert_error(client.get("/api/v1/tutors/me/feedback-insights", headers=auth.headers(UserFactory())), 403)
    url = f"/api/v1/admin/tutors/{declining_tutor.id}/feedback-insights"
    response = client.get(url, headers=auth.headers(admin))
    assert response.status_code == 200 and response.get_json()["weakest_dimension"] == "punctuality"
    assert_error(client.get(url, headers=auth.headers(declining_tutor)), 403)
    assert_error(client.get(url), 401)
    assert_error(client.get("/api/v1/admin/tutors/999999/feedback-insights", headers=auth.headers(admin)), 404)


def test_rating_drops(client, auth, admin, declining_tutor):
    response = client.get("/api/v1/admin/rating-drops?threshold=0.5&days=45", headers=auth.headers(admin))
    assert response.status_code == 200
    assert response.get_json() == [{
        "tutor_id": declining_tutor.id, "full_name": declining_tutor.full_name, "recent_average": 2.0,
        "recent_count": 2, "prior_average": 5.0, "prior_count": 2, "drop": 3.0,
    }]
    assert client.get("/api/v1/admin/rating-drops?threshold=3.5&days=45",
                      headers=auth.headers(admin)).get_json() == []
    # Default 90 days: every review falls in the recent period, so nobody has a prior average.
    assert client.get("/api/v1/admin/rating-drops", headers=auth.headers(admin)).get_json() == []


def test_rating_drops_bad_input_and_authorization(client, auth, admin, tutor):
    assert_error(client.get("/api/v1/admin/rating-drops?threshold=-1", headers=auth.headers(admin)), 422)
    assert_error(client.get("/api/v1/admin/rating-drops?days=1", headers=auth.headers(admin)), 422)
    assert_error(client.get("/api/v1/admin/rating-drops", headers=auth.headers(tutor)), 403)
    assert_error(client.get("/api/v1/admin/rating-drops"), 401)
