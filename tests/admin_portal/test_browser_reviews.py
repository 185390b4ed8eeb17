"""The "Reviews" portal page in headless Chromium: an admin hides a flagged review and it leaves the public
rating summary. Same server and browser harness as test_browser.py (skips without a browser unless CI=true)."""
import json

from tests.admin_portal.test_browser import _fresh, browser, live_server, page  # noqa: F401  (fixtures)
from tests.factories import TutorProfileFactory, UserFactory, completed_booking
from tests.reviews.conftest import Reviews


def test_admin_hides_a_flagged_review_and_it_leaves_the_rating_summary(db, page, client, auth):  # noqa: F811
    admin = UserFactory(roles=["admin"], full_name="Alex Admin")
    tutor = TutorProfileFactory(user=UserFactory(roles=["tutor"], full_name="Tess Tutor")).user
    reviews = Reviews(client, auth)
    kept, flagged = completed_booking(tutor=tutor), completed_booking(tutor=tutor)
    reviews.student(kept, overall=4)
    reviews.tutor(kept)
    review_id = reviews.student(flagged, overall=1, comment="Total waste of money, avoid.")["id"]
    reviews.tutor(flagged)
    response = client.post(f"/api/v1/reviews/{review_id}/flags", json={"reason": "Not about the session"},
                           headers=auth.headers(UserFactory()))
    assert response.status_code == 201
    tutor_id, email = tutor.id, admin.email
    _fresh(db)

    status, _type, body = page.fetch(f"/api/v1/tutors/{tutor_id}/rating-summary")
    summary = json.loads(body)
    assert status == 200 and summary["count"] == 2 and summary["averages"]["overall"] == 2.5

    page.sign_in(email)
    page.wait_for("#count-pending_documents")
    page.find("nav a[href='/admin/reviews']").click()
    page.wait_for(f"#review-{review_id}")
    row = page.find(f"#review-{review_id}")
    assert "Not about the session" in row.text and "Total waste of money" in row.text
    row.find_element("css selector", f"#reason-hide-{review_id}").send_keys("Off-topic attack")
    row.find_element("css selector", "button[name=hide]").click()
    page.wait_for_text("is now hidden.")
    assert page.path().startswith("/admin/reviews")
    assert not page.find_all(f"#review-{review_id}")

    status, _type, body = page.fetch(f"/api/v1/tutors/{tutor_id}/rating-summary")
    summary = json.loads(body)
    assert summary["count"] == 1 and summary["averages"]["overall"] == 4.0
    assert summary["distribution"]["1"] == 0
    status, _type, body = page.fetch(f"/api/v1/tutors/{tutor_id}/reviews")
    assert review_id not in [item["id"] for item in json.loads(body)]
