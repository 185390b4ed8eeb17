"""Review test helpers: completed sessions and reviews posted over HTTP."""
import pytest

from tests.factories import TutorProfileFactory, UserFactory, completed_booking

STUDENT_REVIEW = {"clarity": 5, "knowledge": 4, "responsiveness": 3, "punctuality": 2, "overall": 4,
                  "would_recommend": True, "comment": "Clear explanations."}
TUTOR_REVIEW = {"preparedness": 3, "engagement": 4, "punctuality": 5, "private_note": "Needs algebra revision."}


class Reviews:
    def __init__(self, client, auth):
        self.client = client
        self.auth = auth

    def post(self, user, booking_id, body):
        return self.client.post(f"/api/v1/sessions/{booking_id}/reviews", json=body, headers=self.auth.headers(user))

    def student(self, booking, **changes):
        response = self.post(booking.student, booking.id, {**STUDENT_REVIEW, **changes})
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def tutor(self, booking, **changes):
        response = self.post(booking.tutor, booking.id, {**TUTOR_REVIEW, **changes})
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def summary(self, tutor_id):
        response = self.client.get(f"/api/v1/tutors/{tutor_id}/rating-summary")
        assert response.status_code == 200, response.get_json()
        return response.get_json()


@pytest.fixture
def reviews(client, auth):
    return Reviews(client, auth)


@pytest.fixture
def profile(db):
    return TutorProfileFactory()


@pytest.fixture
def tutor(profile):
    return profile.user


@pytest.fixture
def booking(tutor):
    return completed_booking(tutor=tutor, student=UserFactory())


@pytest.fixture
def admin(db):
    return UserFactory(roles=["admin"])
