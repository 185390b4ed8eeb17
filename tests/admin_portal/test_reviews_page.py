"""Portal "Reviews" page: the queue with flags, hide / restore / remove with a reason and CSRF."""
import pytest

from app.extensions import db
from app.reviews import services as reviews_services
from app.reviews.models import Review, ReviewModerationEvent
from tests.factories import TutorProfileFactory, UserFactory, completed_booking
from tests.reviews.conftest import Reviews


@pytest.fixture
def flagged(client, auth):
    reviews = Reviews(client, auth)
    booking = completed_booking(tutor=TutorProfileFactory().user)
    review = reviews.student(booking, comment="Rude and late.", overall=1)
    reviews.tutor(booking)
    response = client.post(f"/api/v1/reviews/{review['id']}/flags", json={"reason": "Personal attack"},
                           headers=auth.headers(UserFactory()))
    assert response.status_code == 201
    return db.session.get(Review, review["id"])


def test_queue_lists_flagged_reviews_with_flags(signed_in, flagged):
    page = signed_in.client.get("/admin/reviews").get_data(as_text=True)
    assert f'id="review-{flagged.id}"' in page
    assert "Personal attack" in page and "Rude and late." in page
    assert 'href="/admin/reviews"' in signed_in.client.get("/admin/").get_data(as_text=True)


def test_hide_with_reason_updates_summary_and_audit(signed_in, flagged, admin, client):
    response = signed_in.submit("/admin/reviews", f"/admin/reviews/{flagged.id}/hide", reason="Personal attack")
    assert response.status_code == 303
    follow = signed_in.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "is now hidden" in follow and f'id="review-{flagged.id}"' not in follow
    db.session.expire_all()
    assert db.session.get(Review, flagged.id).status == "hidden"
    event = db.session.scalar(db.select(ReviewModerationEvent))
    assert (event.admin_id, event.action, event.reason) == (admin.id, "hide", "Personal attack")
    assert reviews_services.tutor_summary(flagged.tutor_id)["count"] == 0


def test_reason_required_and_bad_action(signed_in, flagged):
    response = signed_in.submit("/admin/reviews", f"/admin/reviews/{flagged.id}/hide", reason="")
    assert response.status_code == 303
    assert "reason" in signed_in.client.get("/admin/reviews").get_data(as_text=True)
    signed_in.submit("/admin/reviews", f"/admin/reviews/{flagged.id}/explode", reason="Because")
    db.session.expire_all()
    assert db.session.get(Review, flagged.id).status == "visible"


def test_restore_of_visible_review_is_refused(signed_in, flagged):
    signed_in.submit("/admin/reviews", f"/admin/reviews/{flagged.id}/restore", reason="Looks fine")
    assert "cannot be restored" in signed_in.client.get("/admin/reviews").get_data(as_text=True)


def test_post_without_csrf_token_is_refused(signed_in, flagged):
    response = signed_in.client.post(f"/admin/reviews/{flagged.id}/hide", data={"reason": "No token"})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Review, flagged.id).status == "visible"


def test_anonymous_and_non_admin(client, portal, flagged):
    response = client.get("/admin/reviews")
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]
    tutor = UserFactory(roles=["tutor"])
    portal.login(tutor.email)
    assert client.get("/admin/reviews").status_code == 302


def test_approve_keeps_review_visible_and_empties_queue(signed_in, flagged, admin):
    page = signed_in.client.get("/admin/reviews").get_data(as_text=True)
    assert f'/admin/reviews/{flagged.id}/approve' in page
    response = signed_in.submit("/admin/reviews", f"/admin/reviews/{flagged.id}/approve", reason="Fair criticism")
    assert response.status_code == 303
    follow = signed_in.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "approved" in follow and f'id="review-{flagged.id}"' not in follow
    db.session.expire_all()
    review = db.session.get(Review, flagged.id)
    assert (review.status, review.queued, review.flag_count) == ("visible", False, 0)
    events = db.session.scalars(db.select(ReviewModerationEvent)).all()
    assert [(e.admin_id, e.action) for e in events] == [(admin.id, "approve")]


def test_review_author_links_into_users(signed_in, flagged):
    author = db.session.get(Review, flagged.id).author
    page = signed_in.client.get("/admin/reviews").get_data(as_text=True)
    assert f'href="/admin/users?q={author.email}"' in page
