"""Writing, editing and reading reviews; the double-blind release rule."""
from datetime import timedelta

import pytest

from app.common.time import utcnow
from app.common.transactions import unit_of_work
from app.extensions import db
from app.reviews import services as review_services
from app.reviews.models import Review
from tests.conftest import assert_error
from tests.factories import BookingFactory, UserFactory, completed_booking
from tests.reviews.conftest import STUDENT_REVIEW


def test_student_reviews_completed_session(reviews, booking):
    body = reviews.student(booking)
    assert body["author_role"] == "student"
    assert body["ratings"] == {"clarity": 5, "knowledge": 4, "responsiveness": 3, "punctuality": 2, "overall": 4}
    assert body["would_recommend"] is True
    assert body["released"] is False and body["status"] == "visible"


def test_tutor_reviews_student_with_private_note(reviews, booking):
    body = reviews.tutor(booking)
    assert body["author_role"] == "tutor"
    assert body["ratings"] == {"preparedness": 3, "engagement": 4, "punctuality": 5}
    assert body["private_note"] == "Needs algebra revision."


def test_unauthenticated_is_401(client, booking):
    assert_error(client.post(f"/api/v1/sessions/{booking.id}/reviews", json=STUDENT_REVIEW), 401)


def test_session_you_were_not_in_is_404(reviews, booking):
    assert_error(reviews.post(UserFactory(), booking.id, STUDENT_REVIEW), 404)
    assert_error(reviews.post(booking.student, 999999, STUDENT_REVIEW), 404)


@pytest.mark.parametrize("state", ["confirmed", "in_progress", "cancelled"])
def test_before_completion_is_409(reviews, tutor, state):
    booking = BookingFactory(tutor=tutor, state=state)
    assert_error(reviews.post(booking.student, booking.id, STUDENT_REVIEW), 409, "completed")


def test_twice_is_409(reviews, booking):
    reviews.student(booking)
    assert_error(reviews.post(booking.student, booking.id, STUDENT_REVIEW), 409, "already")


@pytest.mark.parametrize("value", [0, 6, "5", 4.5])
def test_rating_out_of_range_is_422(reviews, booking, value):
    body = assert_error(reviews.post(booking.student, booking.id, {**STUDENT_REVIEW, "clarity": value}), 422)
    assert "clarity" in body["errors"]


def test_comment_too_long_and_unknown_field_are_422(reviews, booking):
    assert_error(reviews.post(booking.student, booking.id, {**STUDENT_REVIEW, "comment": "x" * 2001}), 422)
    assert_error(reviews.post(booking.student, booking.id, {**STUDENT_REVIEW, "stars": 5}), 422)


def test_role_fields_are_checked(reviews, booking):
    body = assert_error(reviews.post(booking.student, booking.id, {**STUDENT_REVIEW, "engagement": 3}), 422)
    assert "engagement" in body["errors"]
    body = assert_error(reviews.post(booking.tutor, booking.id, {"preparedness": 3}), 422)
    assert set(body["errors"]) == {"engagement", "punctuality"}
    assert_error(reviews.post(booking.student, booking.id, {"overall": 5}), 422)


def test_window_closes_30_days_after_session(reviews, tutor):
    booking = completed_booking(tutor=tutor, start_at=utcnow() - timedelta(days=31))
    assert_error(reviews.post(booking.student, booking.id, STUDENT_REVIEW), 409, "window")


def test_edit_within_7_days(client, auth, reviews, booking):
    review = reviews.student(booking)
    response = client.patch(f"/api/v1/reviews/{review['id']}", json={"overall": 2, "comment": "Changed my mind."},
                            headers=auth.headers(booking.student))
    assert response.status_code == 200
    assert response.get_json()["ratings"]["overall"] == 2
    assert response.get_json()["edited_at"] is not None


def test_edit_after_7_days_is_409(client, auth, reviews, booking):
    review = reviews.student(booking)
    row = db.session.get(Review, review["id"])
    row.created_at = utcnow() - timedelta(days=8)
    db.session.commit()
    response = client.patch(f"/api/v1/reviews/{review['id']}", json={"overall": 2},
                            headers=auth.headers(booking.student))
    assert_error(response, 409, "7 days")


def test_edit_bad_input_other_user_and_unauthenticated(client, auth, reviews, booking):
    review = reviews.student(booking)
    url = f"/api/v1/reviews/{review['id']}"
    assert_error(client.patch(url, json={"overall": 6}, headers=auth.headers(booking.student)), 422)
    assert_error(client.patch(url, json={"preparedness": 3}, headers=auth.headers(booking.student)), 422)
    assert_error(client.patch(url, json={"overall": 3}, headers=auth.headers(booking.tutor)), 404)
    assert_error(client.patch(url, json={"overall": 3}), 401)


def _session_reviews(client, auth, user, booking):
    response = client.get(f"/api/v1/sessions/{booking.id}/reviews", headers=auth.headers(user))
    assert response.status_code == 200
    return response.get_json()


def test_double_blind_until_both_submitted(client, auth, reviews, booking, tutor):
    reviews.student(booking)
    # The tutor cannot see the student's review yet; the student sees their own.
    assert _session_reviews(client, auth, booking.tutor, booking) == []
    assert [r["author_role"] for r in _session_reviews(client, auth, booking.student, booking)] == ["student"]
    assert client.get(f"/api/v1/tutors/{tutor.id}/reviews").get_json() == []
    assert reviews.summary(tutor.id)["count"] == 0

    reviews.tutor(booking)
    seen_by_tutor = _session_reviews(client, auth, booking.tutor, booking)
    seen_by_student = _session_reviews(client, auth, booking.student, booking)
    assert sorted(r["author_role"] for r in seen_by_tutor) == ["student", "tutor"]
    assert sorted(r["author_role"] for r in seen_by_student) == ["student", "tutor"]
    assert all(r["released"] for r in seen_by_student)
    # The student never sees the tutor's private note.
    assert all("private_note" not in r for r in seen_by_student)
    assert reviews.summary(tutor.id)["count"] == 1


def test_session_reviews_other_user_404_and_401(client, auth, booking):
    assert_error(client.get(f"/api/v1/sessions/{booking.id}/reviews", headers=auth.headers(UserFactory())), 404)
    assert_error(client.get(f"/api/v1/sessions/{booking.id}/reviews"), 401)


def test_window_close_releases_single_review(app, reviews, tutor, client):
    booking = completed_booking(tutor=tutor, start_at=utcnow() - timedelta(days=20))
    reviews.student(booking)
    with unit_of_work():
        assert review_services.release_due() == 0
    assert reviews.summary(tutor.id)["count"] == 0
    with unit_of_work():
        released = review_services.release_due(now=utcnow() + timedelta(days=11))
    assert released == 1
    with unit_of_work():
        assert review_services.release_due(now=utcnow() + timedelta(days=11)) == 0
    assert reviews.summary(tutor.id)["count"] == 1
    assert len(client.get(f"/api/v1/tutors/{tutor.id}/reviews").get_json()) == 1


def test_release_job_runs_through_jobs_module(app, reviews, tutor):
    from jobs import schedule, tasks

    booking = completed_booking(tutor=tutor, start_at=utcnow() - timedelta(days=29, hours=23, minutes=30))
    reviews.student(booking)
    assert any(job[0] is tasks.release_closed_review_windows for job in schedule.PERIODIC_JOBS)
    db.session.scalar(db.select(Review)).window_closes_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert tasks.release_closed_review_windows() == 1
    assert reviews.summary(tutor.id)["count"] == 1


def test_reply_once_by_the_tutor(client, auth, reviews, booking):
    review = reviews.student(booking)
    url = f"/api/v1/reviews/{review['id']}/reply"
    # Unreleased: the tutor cannot see it yet.
    assert_error(client.post(url, json={"reply": "Thanks"}, headers=auth.headers(booking.tutor)), 404)
    reviews.tutor(booking)
    assert_error(client.post(url, json={"reply": ""}, headers=auth.headers(booking.tutor)), 422)
    assert_error(client.post(url, json={"reply": "Thanks"}), 401)
    other_tutor = UserFactory(roles=["tutor"])
    assert_error(client.post(url, json={"reply": "Thanks"}, headers=auth.headers(other_tutor)), 404)
    assert_error(client.post(url, json={"reply": "Thanks"}, headers=auth.headers(booking.student)), 403)
    response = client.post(url, json={"reply": "Thanks, see you soon"}, headers=auth.headers(booking.tutor))
    assert response.status_code == 201
    assert response.get_json()["reply"] == "Thanks, see you soon"
    assert_error(client.post(url, json={"reply": "Again"}, headers=auth.headers(booking.tutor)), 409)
    listed = client.get(f"/api/v1/tutors/{booking.tutor_id}/reviews").get_json()
    assert listed[0]["reply"] == "Thanks, see you soon"


def test_student_ratings_visible_to_booked_tutors_and_admins(client, auth, reviews, booking, admin):
    reviews.student(booking)
    reviews.tutor(booking)
    url = f"/api/v1/students/{booking.student_id}/ratings"
    response = client.get(url, headers=auth.headers(booking.tutor))
    assert response.status_code == 200
    assert response.get_json()[0]["private_note"] == "Needs algebra revision."
    assert client.get(url, headers=auth.headers(admin)).status_code == 200
    # A tutor the student booked later (request pending) may read them too.
    new_tutor = UserFactory(roles=["tutor"])
    BookingFactory(tutor=new_tutor, student=booking.student, state="requested")
    assert len(client.get(url, headers=auth.headers(new_tutor)).get_json()) == 1
    # A tutor whose request was rejected, or a stranger tutor, may not.
    rejected_tutor = UserFactory(roles=["tutor"])
    BookingFactory(tutor=rejected_tutor, student=booking.student, state="rejected")
    assert_error(client.get(url, headers=auth.headers(rejected_tutor)), 404)
    assert_error(client.get(url, headers=auth.headers(UserFactory(roles=["tutor"]))), 404)
    # Students (the rated one included) get a role error; never public.
    assert_error(client.get(url, headers=auth.headers(booking.student)), 403)
    assert_error(client.get(url), 401)
    assert_error(client.get("/api/v1/students/999999/ratings", headers=auth.headers(admin)), 404)


def test_private_note_only_for_its_author_and_admins(client, auth, reviews, tutor, admin):
    """Two tutors rate one student: each reads the other's ratings but only their own private note."""
    student = UserFactory()
    other_tutor = UserFactory(roles=["tutor"])
    mine = completed_booking(tutor=tutor, student=student)
    theirs = completed_booking(tutor=other_tutor, student=student)
    for booking, note in ((mine, "Mine: revise fractions."), (theirs, "Theirs: often late.")):
        reviews.student(booking)
        reviews.tutor(booking, private_note=note)
    url = f"/api/v1/students/{student.id}/ratings"

    def notes(user):
        response = client.get(url, headers=auth.headers(user))
        assert response.status_code == 200, response.get_json()
        return {r["tutor_id"]: r["private_note"] for r in response.get_json()}

    assert notes(tutor) == {tutor.id: "Mine: revise fractions.", other_tutor.id: None}
    assert notes(other_tutor) == {tutor.id: None, other_tutor.id: "Theirs: often late."}
    assert notes(admin) == {tutor.id: "Mine: revise fractions.", other_tutor.id: "Theirs: often late."}
    # A tutor the student has only requested reads the ratings, and no note at all.
    newcomer = UserFactory(roles=["tutor"])
    BookingFactory(tutor=newcomer, student=student, state="requested")
    assert notes(newcomer) == {tutor.id: None, other_tutor.id: None}


def test_unreleased_student_rating_hidden_from_tutors(client, auth, reviews, booking):
    reviews.tutor(booking)
    assert client.get(f"/api/v1/students/{booking.student_id}/ratings",
                      headers=auth.headers(booking.tutor)).get_json() == []


def test_public_list_paginated_and_sorted(client, reviews, tutor):
    bookings = [completed_booking(tutor=tutor) for _ in range(3)]
    for index, item in enumerate(bookings):
        reviews.student(item, overall=index + 3)
        reviews.tutor(item)
    response = client.get(f"/api/v1/tutors/{tutor.id}/reviews?page=1&page_size=2")
    assert response.status_code == 200
    assert len(response.get_json()) == 2
    assert '"total": 3' in response.headers["X-Pagination"]
    assert_error(client.get(f"/api/v1/tutors/{tutor.id}/reviews?sort=best"), 422)
    assert_error(client.get("/api/v1/tutors/999999/reviews"), 404)
    assert_error(client.get(f"/api/v1/tutors/{bookings[0].student_id}/reviews"), 404)
