"""Flags, blocklist, the admin queue, hide / restore / remove with audit trail, helpful votes."""
import pytest

from app.extensions import db
from app.notifications.models import OutboxMessage
from app.reviews.models import ReviewModerationEvent
from tests.conftest import assert_error
from tests.factories import UserFactory, completed_booking


@pytest.fixture
def released(reviews, booking):
    review = reviews.student(booking, overall=5)
    reviews.tutor(booking)
    return review


def _flag(client, auth, user, review_id, reason="Offensive language"):
    return client.post(f"/api/v1/reviews/{review_id}/flags", json={"reason": reason}, headers=auth.headers(user))


def _moderate(client, auth, admin, review_id, action, reason="Breaks the rules"):
    return client.patch(f"/api/v1/admin/reviews/{review_id}", json={"action": action, "reason": reason},
                        headers=auth.headers(admin))


def _queue(client, auth, admin, status="queued"):
    response = client.get(f"/api/v1/admin/reviews?status={status}", headers=auth.headers(admin))
    assert response.status_code == 200
    return response.get_json()


def test_flag_puts_review_in_queue(client, auth, admin, released):
    reader = UserFactory()
    response = _flag(client, auth, reader, released["id"])
    assert response.status_code == 201
    queue = _queue(client, auth, admin)
    assert [item["id"] for item in queue] == [released["id"]]
    assert queue[0]["flag_count"] == 1
    assert queue[0]["flags"][0]["reason"] == "Offensive language"


def test_flag_bad_input(client, auth, booking, released):
    assert_error(_flag(client, auth, booking.student, released["id"]), 422, "own")
    reader = UserFactory()
    assert_error(_flag(client, auth, reader, released["id"], reason=""), 422)
    assert _flag(client, auth, reader, released["id"]).status_code == 201
    assert_error(_flag(client, auth, reader, released["id"]), 409)
    assert_error(client.post(f"/api/v1/reviews/{released['id']}/flags", json={"reason": "spam"}), 401)
    assert_error(_flag(client, auth, reader, 999999), 404)


def test_unreleased_review_cannot_be_flagged_by_others(client, auth, reviews, tutor):
    booking = completed_booking(tutor=tutor)
    review = reviews.student(booking)
    assert_error(_flag(client, auth, UserFactory(), review["id"]), 404)
    assert_error(_flag(client, auth, booking.tutor, review["id"]), 404)


def test_blocklisted_words_queue_on_word_boundaries(client, auth, admin, reviews, tutor):
    flagged = completed_booking(tutor=tutor)
    clean = completed_booking(tutor=tutor)
    reviews.student(flagged, comment="What a SCAM, honestly.")
    reviews.student(clean, comment="Scampi lunch break was long.")
    queue = _queue(client, auth, admin)
    assert len(queue) == 1 and queue[0]["blocklisted"] is True and queue[0]["booking_id"] == flagged.id


def test_hidden_review_disappears_from_summary_and_comes_back(client, auth, admin, reviews, tutor, released,
                                                              booking):
    other = completed_booking(tutor=tutor)
    reviews.student(other, overall=3, clarity=3, knowledge=3, responsiveness=3, punctuality=3)
    reviews.tutor(other)
    assert reviews.summary(tutor.id)["averages"]["overall"] == 4.0
    _flag(client, auth, UserFactory(), released["id"])

    response = _moderate(client, auth, admin, released["id"], "hide")
    assert response.status_code == 200 and response.get_json()["status"] == "hidden"
    summary = reviews.summary(tutor.id)
    assert summary["count"] == 1 and summary["averages"]["overall"] == 3.0
    assert summary["distribution"]["5"] == 0
    listed = client.get(f"/api/v1/tutors/{tutor.id}/reviews").get_json()
    assert released["id"] not in [item["id"] for item in listed]
    assert _queue(client, auth, admin) == []
    assert [item["id"] for item in _queue(client, auth, admin, "hidden")] == [released["id"]]
    email = db.session.scalar(db.select(OutboxMessage).where(OutboxMessage.kind == "review_moderated"))
    assert email.recipient == booking.student.email and "Breaks the rules" in email.body_text

    assert _moderate(client, auth, admin, released["id"], "restore").status_code == 200
    assert reviews.summary(tutor.id)["averages"]["overall"] == 4.0
    assert _moderate(client, auth, admin, released["id"], "remove").status_code == 200
    assert reviews.summary(tutor.id)["count"] == 1
    assert_error(_moderate(client, auth, admin, released["id"], "restore"), 409)
    events = client.get(f"/api/v1/admin/reviews/{released['id']}/events", headers=auth.headers(admin)).get_json()
    assert [event["action"] for event in events] == ["hide", "restore", "remove"]
    assert all(event["admin_id"] == admin.id for event in events)
    assert db.session.scalar(db.select(db.func.count()).select_from(ReviewModerationEvent)) == 3


def test_moderation_bad_input_and_authorization(client, auth, admin, released, booking):
    assert_error(_moderate(client, auth, admin, released["id"], "delete"), 422)
    assert_error(_moderate(client, auth, admin, released["id"], "hide", reason=""), 422)
    assert_error(_moderate(client, auth, admin, released["id"], "restore"), 409)
    assert_error(_moderate(client, auth, admin, 999999, "hide"), 404)
    assert_error(_moderate(client, auth, booking.student, released["id"], "hide"), 403)
    assert_error(client.patch(f"/api/v1/admin/reviews/{released['id']}", json={"action": "hide", "reason": "x" * 5}),
                 401)
    assert_error(client.get("/api/v1/admin/reviews", headers=auth.headers(booking.student)), 403)
    assert_error(client.get("/api/v1/admin/reviews?status=lost", headers=auth.headers(admin)), 422)
    assert_error(client.get("/api/v1/admin/reviews"), 401)
    assert_error(client.get(f"/api/v1/admin/reviews/{released['id']}/events", headers=auth.headers(booking.tutor)),
                 403)
    assert_error(client.get(f"/api/v1/admin/reviews/{released['id']}/events"), 401)
    assert_error(client.get("/api/v1/admin/reviews/999999/events", headers=auth.headers(admin)), 404)


def test_hidden_review_cannot_be_edited_or_seen_by_others(client, auth, admin, released, booking):
    _moderate(client, auth, admin, released["id"], "hide")
    assert_error(client.patch(f"/api/v1/reviews/{released['id']}", json={"overall": 1},
                              headers=auth.headers(booking.student)), 409)
    assert_error(_flag(client, auth, UserFactory(), released["id"]), 404)


def test_helpful_votes(client, auth, reviews, tutor, released, booking):
    url = f"/api/v1/reviews/{released['id']}/helpful"
    voter = UserFactory()
    response = client.post(url, headers=auth.headers(voter))
    assert response.status_code == 201 and response.get_json()["helpful_count"] == 1
    assert_error(client.post(url, headers=auth.headers(voter)), 409)
    assert_error(client.post(url, headers=auth.headers(booking.student)), 422, "own")
    assert_error(client.post(url), 401)
    assert_error(client.post("/api/v1/reviews/999999/helpful", headers=auth.headers(voter)), 404)
    # A newer review with no votes: newest puts it first, most_helpful puts the voted one first.
    newer = completed_booking(tutor=tutor)
    reviews.student(newer)
    reviews.tutor(newer)
    newest = client.get(f"/api/v1/tutors/{tutor.id}/reviews").get_json()
    helpful = client.get(f"/api/v1/tutors/{tutor.id}/reviews?sort=most_helpful").get_json()
    assert newest[0]["id"] != released["id"]
    assert helpful[0]["id"] == released["id"] and helpful[0]["helpful_count"] == 1


def test_tutor_review_of_student_cannot_be_voted_helpful(client, auth, booking, released):
    tutor_review = client.get(f"/api/v1/sessions/{booking.id}/reviews", headers=auth.headers(booking.student))
    tutor_review_id = next(r["id"] for r in tutor_review.get_json() if r["author_role"] == "tutor")
    assert_error(client.post(f"/api/v1/reviews/{tutor_review_id}/helpful", headers=auth.headers(booking.student)),
                 404)


def test_approve_dismisses_flags_keeps_visible_one_audit_row_no_email(client, auth, admin, released):
    reader, other = UserFactory(), UserFactory()
    assert _flag(client, auth, reader, released["id"]).status_code == 201
    assert _flag(client, auth, other, released["id"]).status_code == 201
    emails_before = db.session.scalar(db.select(db.func.count(OutboxMessage.id))
                                      .where(OutboxMessage.kind == "review_moderated"))
    response = _moderate(client, auth, admin, released["id"], "approve", reason="Nothing wrong with it")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "visible" and body["flag_count"] == 0 and body["flags"] == []
    assert _queue(client, auth, admin) == []
    assert released["id"] in [item["id"] for item in _queue(client, auth, admin, "visible")]
    events = client.get(f"/api/v1/admin/reviews/{released['id']}/events", headers=auth.headers(admin)).get_json()
    assert [(e["action"], e["reason"]) for e in events] == [("approve", "Nothing wrong with it")]
    assert db.session.scalar(db.select(db.func.count(OutboxMessage.id))
                             .where(OutboxMessage.kind == "review_moderated")) == emails_before
    # dismissed: the same reader may flag it again, and it is queued again
    assert _flag(client, auth, reader, released["id"]).status_code == 201
    assert [item["id"] for item in _queue(client, auth, admin)] == [released["id"]]


def test_approve_refused_when_not_queued_or_not_visible(client, auth, admin, released, booking):
    assert_error(_moderate(client, auth, admin, released["id"], "approve"), 409, "nothing to approve")
    assert _flag(client, auth, UserFactory(), released["id"]).status_code == 201
    assert _moderate(client, auth, admin, released["id"], "hide").status_code == 200
    assert_error(_moderate(client, auth, admin, released["id"], "approve"), 409)
    assert_error(_moderate(client, auth, booking.student, released["id"], "approve"), 403)
    assert_error(_moderate(client, auth, admin, 999999, "approve"), 404)
    assert db.session.scalar(db.select(db.func.count(ReviewModerationEvent.id))
                             .where(ReviewModerationEvent.action == "approve")) == 0
