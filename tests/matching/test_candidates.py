"""Candidate generation: the stored prior (kept by triggers), the three streams, refilling after ineligible rows."""
import pytest
import sqlalchemy as sa

from app.extensions import db
from app.matching import hooks, services, weights
from app.reviews import aggregation
from app.tutors.models import TutorProfile, TutorSubject
from tests.factories import (
    SubjectFactory,
    TutorProfileFactory,
    TutorSubjectFactory,
    UserFactory,
)


@pytest.fixture(autouse=True)
def _fresh_weights(app):
    weights.clear_cache()
    yield
    weights.clear_cache()


def _tutor(name, level="secondary", **fields):
    defaults = {"rate_cents": 4000, "currency": "USD", "mode": "online", "verified": False, "years_experience": 0}
    defaults.update(fields)
    profile = TutorProfileFactory(user=UserFactory(roles=["tutor"], full_name=name), **defaults)
    TutorSubjectFactory(profile=profile, subject=SubjectFactory(slug="mathematics"), level=level)
    return profile.user_id


def _priors():
    return dict(db.session.execute(sa.select(TutorSubject.tutor_id, TutorSubject.match_prior)).all())


def _match_ids(client, auth, student, **overrides):
    body = {"subject": "mathematics", "level": "secondary", "mode": "online", **overrides}
    response = client.post("/api/v1/matches", json=body, headers=auth.headers(student))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_match_prior_is_stored_on_insert_and_follows_the_profile(app):
    tutor = _tutor("Pia Prior", rating_bayes=4.0, verified=True, years_experience=20)
    assert _priors()[tutor] == pytest.approx(services.match_prior(4.0, None, True, 20))
    assert _priors()[tutor] == pytest.approx(0.5 * 4.0 / 5 + 0.25 + 0.25)
    profile = db.session.get(TutorProfile, tutor)
    profile.verified, profile.years_experience = False, 5
    db.session.commit()
    assert _priors()[tutor] == pytest.approx(services.match_prior(4.0, None, False, 5))
    # Core bulk updates (how the reviews domain writes ratings) are followed too.
    db.session.execute(sa.update(TutorProfile).where(TutorProfile.user_id == tutor).values(rating_bayes=None,
                                                                                          rating_avg=3.0))
    db.session.commit()
    assert _priors()[tutor] == pytest.approx(services.match_prior(None, 3.0, False, 5))


def test_unrated_tutor_gets_a_neutral_rating_in_the_prior(app):
    tutor = _tutor("Nora New")
    assert _priors()[tutor] == pytest.approx(0.5 * 2.5 / 5)


def test_refresh_of_bayesian_ratings_moves_the_prior(app):
    tutor = _tutor("Rita Rated", rating_bayes=3.0, rating_avg=3.0, rating_count=1)
    aggregation.refresh_profile(tutor)  # no counted reviews: the ratings are cleared
    db.session.commit()
    assert _priors()[tutor] == pytest.approx(services.match_prior(*db.session.execute(
        sa.select(TutorProfile.rating_bayes, TutorProfile.rating_avg, TutorProfile.verified,
                  TutorProfile.years_experience).where(TutorProfile.user_id == tutor)).one()))


def test_only_the_best_priors_are_candidates(client, auth, app, monkeypatch):
    monkeypatch.setattr(services, "CANDIDATE_LIMIT", 2)
    monkeypatch.setattr(services, "LEVEL_CANDIDATE_LIMIT", 1)
    best = _tutor("Best", level="university", rating_bayes=5.0)
    good = _tutor("Good", level="university", rating_bayes=4.5)
    level = _tutor("Right Level", rating_bayes=3.5)
    _tutor("Weak", rating_bayes=2.0)
    body = _match_ids(client, auth, UserFactory(roles=["student"]))
    assert body["candidates_considered"] == 3
    assert {m["tutor"]["id"] for m in body["matches"]} == {best, good, level}


def test_history_tutors_are_candidates_whatever_their_prior(client, auth, app, monkeypatch):
    monkeypatch.setattr(services, "CANDIDATE_LIMIT", 1)
    monkeypatch.setattr(services, "LEVEL_CANDIDATE_LIMIT", 1)
    student = UserFactory(roles=["student"])
    star = _tutor("Star", rating_bayes=5.0, verified=True, years_experience=10)
    regular = _tutor("Regular", rating_bayes=2.0)
    monkeypatch.setattr(hooks, "HISTORY_TUTOR_PROVIDERS", [lambda student_id, limit: {regular: 3}])
    monkeypatch.setattr(hooks, "HISTORY_PROVIDERS", [lambda student_id, ids: {regular: 3} if regular in ids else {}])
    body = _match_ids(client, auth, student)
    ids = [m["tutor"]["id"] for m in body["matches"]]
    assert set(ids) == {star, regular} and body["candidates_considered"] == 2
    kept = next(m for m in body["matches"] if m["tutor"]["id"] == regular)
    assert kept["parts"]["history"] == 1.0 and "You have completed 3 sessions together" in kept["reasons"]
    monkeypatch.setattr(hooks, "HISTORY_TUTOR_PROVIDERS", [])
    assert [m["tutor"]["id"] for m in _match_ids(client, auth, student)["matches"]] == [star]


def test_history_tutor_must_still_pass_the_hard_filters(client, auth, app, monkeypatch):
    student = UserFactory(roles=["student"])
    pricey = _tutor("Pricey Regular", rate_cents=9000)
    monkeypatch.setattr(hooks, "HISTORY_TUTOR_PROVIDERS", [lambda student_id, limit: {pricey: 1}])
    body = _match_ids(client, auth, student, budget={"max_rate_cents": 5000, "currency": "USD"})
    assert pricey not in [m["tutor"]["id"] for m in body["matches"]]


def test_scheduling_provides_the_students_tutors_most_sessions_first(app):
    from app.scheduling.history import tutors_with_completed_sessions
    from tests.factories import BookingFactory

    student = UserFactory(roles=["student"])
    once, twice = _tutor("Once"), _tutor("Twice")
    for tutor_id, count in ((once, 1), (twice, 2)):
        for _ in range(count):
            BookingFactory(tutor=db.session.get(TutorProfile, tutor_id).user, student=student, state="completed")
    BookingFactory(tutor=db.session.get(TutorProfile, once).user, student=student, state="cancelled")
    assert list(tutors_with_completed_sessions(student.id, 10).items()) == [(twice, 2), (once, 1)]
    assert tutors_with_completed_sessions(student.id, 1) == {twice: 2}
    assert hooks.history_tutors(student.id, 10) == ({twice: 2, once: 1}, True)
    assert hooks.history_tutors(student.id, 2) == ({twice: 2, once: 1}, False)


def test_session_counts_are_asked_only_about_tutors_a_cut_history_may_have_missed(client, auth, app, monkeypatch):
    """One history query when the student's tutors all fit the history stream; else counts for the others too."""
    student = UserFactory(roles=["student"])
    regular, other = _tutor("Regular", rating_bayes=2.0), _tutor("Other", rating_bayes=5.0)
    asked = []

    def counts(student_id, ids):
        asked.append(sorted(ids))
        return {other: 1} if other in ids else {}

    monkeypatch.setattr(hooks, "HISTORY_TUTOR_PROVIDERS", [lambda student_id, limit: {regular: 2}])
    monkeypatch.setattr(hooks, "HISTORY_PROVIDERS", [counts])
    body = _match_ids(client, auth, student)
    parts = {m["tutor"]["id"]: m["parts"]["history"] for m in body["matches"]}
    assert parts == {regular: pytest.approx(2 / 3, abs=1e-4), other: 0.0} and asked == []
    monkeypatch.setattr(services, "HISTORY_CANDIDATE_LIMIT", 1)  # the student's history is cut at one tutor
    body = _match_ids(client, auth, student)
    parts = {m["tutor"]["id"]: m["parts"]["history"] for m in body["matches"]}
    assert parts == {regular: pytest.approx(2 / 3, abs=1e-4), other: pytest.approx(1 / 3, abs=1e-4)}
    assert asked == [[other]]


def test_ineligible_best_priors_are_walked_past(client, auth, app, monkeypatch):
    """Blocked or deactivated tutors among the best priors do not shrink the candidate set."""
    monkeypatch.setattr(services, "CANDIDATE_LIMIT", 2)
    monkeypatch.setattr(services, "LEVEL_CANDIDATE_LIMIT", 1)
    student = UserFactory(roles=["student"])
    blocked = _tutor("Blocked", rating_bayes=5.0)
    gone = _tutor("Gone", rating_bayes=4.9)
    db.session.get(TutorProfile, gone).user.is_active = False
    db.session.commit()
    client.post(f"/api/v1/tutors/{blocked}/block", headers=auth.headers(student))
    third, fourth = _tutor("Third", rating_bayes=4.0), _tutor("Fourth", rating_bayes=3.0)
    _tutor("Fifth", rating_bayes=2.0)
    body = _match_ids(client, auth, student)
    assert {m["tutor"]["id"] for m in body["matches"]} == {third, fourth}
    assert body["candidates_considered"] == 2


def test_nearby_in_person_tutors_are_candidates_whatever_their_prior(client, auth, app, monkeypatch):
    monkeypatch.setattr(services, "CANDIDATE_LIMIT", 1)
    monkeypatch.setattr(services, "LEVEL_CANDIDATE_LIMIT", 1)
    monkeypatch.setattr(services, "NEAR_CANDIDATE_LIMIT", 1)
    student = UserFactory(roles=["student"])
    star = _tutor("Star Online", rating_bayes=5.0, verified=True, years_experience=10)
    _tutor("Second Online", rating_bayes=4.9, verified=True, years_experience=10)
    near = _tutor("Nearby", rating_bayes=2.0, mode="in_person", latitude=48.86, longitude=2.35, travel_radius_km=10)
    _tutor("Far", rating_bayes=2.5, mode="in_person", latitude=45.76, longitude=4.84, travel_radius_km=10)
    paris = {"lat": 48.8566, "lon": 2.3522}
    body = _match_ids(client, auth, student, mode="both", location=paris)
    assert {m["tutor"]["id"] for m in body["matches"]} == {star, near}
    nearby = next(m for m in body["matches"] if m["tutor"]["id"] == near)
    assert nearby["parts"]["distance"] == 1.0
    online = _match_ids(client, auth, student, mode="online", location=paris)
    assert [m["tutor"]["id"] for m in online["matches"]] == [star]


def test_candidate_statement_is_built_once_per_request_shape(app):
    """Requests differing only in values share one prebuilt statement (values are parameters, not SQL)."""
    student = UserFactory(roles=["student"])
    limits = {"any": 100, "level": 50, "near": 50}
    paris = {"subject": "mathematics", "level": "secondary", "mode": "both", "location": {"lat": 48.86, "lon": 2.35},
             "budget": {"max_rate_cents": 5000, "currency": "EUR"}}
    tokyo = {**paris, "level": "primary", "location": {"lat": 35.68, "lon": 139.65},
             "budget": {"max_rate_cents": 9000, "currency": "USD"}}
    shape_a, params_a = services.candidate_params(student, paris, 1, limits)
    shape_b, params_b = services.candidate_params(student, tokyo, 2, limits)
    assert shape_a == shape_b and params_a != params_b
    assert services.candidate_statement(shape_a) is services.candidate_statement(shape_b)
    online, _params = services.candidate_params(student, {**paris, "mode": "online"}, 1, limits)
    assert online != shape_a  # another shape (no nearby stream): its own statement
    assert services.candidate_statement(online) is not services.candidate_statement(shape_a)
