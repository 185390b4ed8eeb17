"""Candidates: the profile copies on tutor_subjects (kept by triggers), the bound computed in SQL, exact top-k."""
import random

import pytest
import sqlalchemy as sa

from app.common.transactions import unit_of_work
from app.extensions import db
from app.matching import services, weights
from app.reviews import aggregation
from app.scheduling import services as scheduling
from app.tutors.models import LEVELS, TutorProfile, TutorSubject
from app.users.models import LEARNING_STYLES
from tests.factories import (
    SubjectFactory,
    TutorProfileFactory,
    TutorSubjectFactory,
    UserFactory,
)
from tests.matching.helpers import transaction_ends


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


def _match_ids(client, auth, student, **overrides):
    body = {"subject": "mathematics", "level": "secondary", "mode": "online", **overrides}
    response = client.post("/api/v1/matches", json=body, headers=auth.headers(student))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_tutor_subjects_keeps_no_match_prior(app):
    """Migration 0013 dropped the prior nothing read any more, with its indexes."""
    inspector = sa.inspect(db.engine)
    assert "match_prior" not in {column["name"] for column in inspector.get_columns("tutor_subjects")}
    assert not [index["name"] for index in inspector.get_indexes("tutor_subjects") if "prior" in index["name"]]


def test_history_tutor_must_still_pass_the_hard_filters(client, auth, app, monkeypatch):
    student = UserFactory(roles=["student"])
    pricey = _tutor("Pricey Regular", rate_cents=9000)
    monkeypatch.setattr(scheduling, "tutors_with_completed_sessions", lambda student_id, limit: {pricey: 1})
    body = _match_ids(client, auth, student, budget={"max_rate_cents": 5000, "currency": "USD"})
    assert pricey not in [m["tutor"]["id"] for m in body["matches"]]


def test_scheduling_provides_the_students_tutors_most_sessions_first(app):
    from tests.factories import BookingFactory

    student = UserFactory(roles=["student"])
    once, twice = _tutor("Once"), _tutor("Twice")
    for tutor_id, count in ((once, 1), (twice, 2)):
        for _ in range(count):
            BookingFactory(tutor=db.session.get(TutorProfile, tutor_id).user, student=student, state="completed")
    BookingFactory(tutor=db.session.get(TutorProfile, once).user, student=student, state="cancelled")
    assert list(scheduling.tutors_with_completed_sessions(student.id, 10).items()) == [(twice, 2), (once, 1)]
    assert scheduling.tutors_with_completed_sessions(student.id, 1) == {twice: 2}
    assert scheduling.completed_session_counts(student.id, [once, twice]) == {once: 1, twice: 2}


def test_session_counts_are_asked_only_about_tutors_a_cut_history_may_have_missed(client, auth, app, monkeypatch):
    """One history query when the student's tutors all fit the history stream; else counts for the others too."""
    student = UserFactory(roles=["student"])
    regular, other = _tutor("Regular", rating_bayes=2.0), _tutor("Other", rating_bayes=5.0)
    asked = []

    def counts(student_id, ids):
        asked.append(sorted(ids))
        return {other: 1} if other in ids else {}

    monkeypatch.setattr(scheduling, "tutors_with_completed_sessions", lambda student_id, limit: {regular: 2})
    monkeypatch.setattr(scheduling, "completed_session_counts", counts)
    body = _match_ids(client, auth, student)
    parts = {m["tutor"]["id"]: m["parts"]["history"] for m in body["matches"]}
    assert parts == {regular: pytest.approx(2 / 3, abs=1e-4), other: 0.0} and asked == []
    monkeypatch.setattr(services, "HISTORY_CANDIDATE_LIMIT", 1)  # the student's history is cut at one tutor
    body = _match_ids(client, auth, student)
    parts = {m["tutor"]["id"]: m["parts"]["history"] for m in body["matches"]}
    assert parts == {regular: pytest.approx(2 / 3, abs=1e-4), other: pytest.approx(1 / 3, abs=1e-4)}
    assert asked == [[other]]


def _copies():
    columns = [TutorSubject.listed, TutorSubject.mode, TutorSubject.currency, TutorSubject.rate_cents,
               TutorSubject.latitude, TutorSubject.longitude, TutorSubject.travel_radius_km, TutorSubject.verified,
               TutorSubject.years_experience, TutorSubject.rating, TutorSubject.teaching_styles]
    return {row[0]: tuple(row[1:]) for row in db.session.execute(sa.select(TutorSubject.tutor_id, *columns))}


def test_profile_copies_are_stored_on_insert_and_follow_the_profile(app):
    tutor = _tutor("Cora Copy", rate_cents=4500, mode="both", latitude=48.85, longitude=2.35, travel_radius_km=20,
                   verified=True, years_experience=7, rating_avg=4.2, teaching_styles=["visual"])
    assert _copies()[tutor] == (True, "both", "USD", 4500, 48.85, 2.35, 20, True, 7, 4.2, ["visual"])
    profile = db.session.get(TutorProfile, tutor)
    profile.rate_cents, profile.currency, profile.mode = 5000, "EUR", "online"
    profile.latitude = profile.longitude = profile.travel_radius_km = None
    profile.teaching_styles = ["reading", "visual"]
    db.session.commit()
    assert _copies()[tutor] == (True, "online", "EUR", 5000, None, None, None, True, 7, 4.2, ["reading", "visual"])
    # Core bulk updates (the reviews domain's rating refresh) are followed: rating = coalesce(bayes, avg).
    db.session.execute(sa.update(TutorProfile).where(TutorProfile.user_id == tutor).values(rating_bayes=3.9))
    db.session.commit()
    assert _copies()[tutor][9] == 3.9
    profile.user.is_active = False  # no longer listed: the listed trigger rewrites the profile, then its rows
    db.session.commit()
    assert _copies()[tutor][0] is False


def test_refresh_of_bayesian_ratings_moves_the_rating_copy(app):
    tutor = _tutor("Rita Rated", rating_bayes=3.0, rating_avg=3.0, rating_count=1)
    assert _copies()[tutor][9] == 3.0
    with unit_of_work():
        aggregation.refresh_profile(tutor)  # no counted reviews: the ratings are cleared
    assert _copies()[tutor][9] is None


def _exhaustive(monkeypatch, *args, **kwargs):
    """_match_ids with every eligible row read at once (the reference: every eligible tutor scored in Python)."""
    with monkeypatch.context() as patch:
        patch.setattr(services, "FETCH_ROWS", 10 ** 6)
        return _match_ids(*args, **kwargs)


def _ranking(body):
    return [(m["tutor"]["id"], m["score"], m["parts"]) for m in body["matches"]]


def test_bound_computed_in_sql_is_the_score_of_the_sql_parts(app):
    """The statement's bound mirrors _score_parts: equal for every eligible tutor (distance exact inside the box)."""
    rng = random.Random(5)
    student = UserFactory(roles=["student"], learning_styles=["visual", "reading"])
    for n in range(30):
        _tutor(f"Tutor {n}", level=rng.choice(LEVELS), rate_cents=rng.randrange(1000, 9000, 100),
               mode=rng.choice(["online", "in_person", "both"]), latitude=48.85 + rng.uniform(-0.5, 0.5),
               longitude=2.35 + rng.uniform(-0.5, 0.5), travel_radius_km=rng.choice([None, 5, 20]),
               verified=rng.random() < 0.5, years_experience=rng.randint(0, 15),
               rating_bayes=rng.choice([None, round(rng.uniform(2, 5), 2)]),
               rating_avg=rng.choice([None, 4.0]), teaching_styles=rng.sample(LEARNING_STYLES, rng.randint(0, 3)))
    request = {"subject": "mathematics", "level": "secondary", "mode": "both", "location": {"lat": 48.85, "lon": 2.35},
               "budget": {"max_rate_cents": 7000, "currency": "USD"}}
    current = weights.current_weights()
    shape, params = services.candidate_params(student, request, SubjectFactory(slug="mathematics").id, current, 1000)
    rows = db.session.execute(services.candidate_statement(shape), params).all()
    assert len(rows) > 10
    styles, cards, fits = {"visual", "reading"}, {}, {}
    services._add_cards(rows, "secondary", cards, fits)
    for row in rows:
        parts = services._score_parts(cards[row.id], services.level_fit(row.level, "secondary"), request, styles, 0,
                                      None)
        expected = sum(current[name] * parts[name] for name in services.SQL_PARTS)
        assert row.bound == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_top_is_exact_whatever_the_number_of_rows_read_first(client, auth, app, monkeypatch, seed):
    """Same ranking as scoring every eligible tutor, with availability, history, blocks and several levels."""
    rng = random.Random(seed)
    student = UserFactory(roles=["student"], learning_styles=["visual"])
    ids = []
    for n in range(40):
        ids.append(_tutor(f"Tutor {n}", level=rng.choice(LEVELS), rate_cents=rng.randrange(1000, 9000, 500),
                          mode=rng.choice(["online", "in_person", "both"]), latitude=48.85 + rng.uniform(-1.5, 1.5),
                          longitude=2.35 + rng.uniform(-1.5, 1.5), travel_radius_km=rng.choice([None, 5, 150]),
                          verified=rng.random() < 0.5, years_experience=rng.randint(0, 12),
                          rating_bayes=rng.choice([None, 3.5, 4.0, 4.5]),
                          teaching_styles=rng.sample(LEARNING_STYLES, rng.randint(0, 2))))
    for tutor_id in rng.sample(ids, 8):  # a second level of the same subject for some tutors
        level = rng.choice(LEVELS)
        if level != db.session.execute(sa.select(TutorSubject.level).where(TutorSubject.tutor_id == tutor_id)).scalar():
            TutorSubjectFactory(profile=db.session.get(TutorProfile, tutor_id),
                                subject=SubjectFactory(slug="mathematics"), level=level)
    for tutor_id in rng.sample(ids, 3):
        client.post(f"/api/v1/tutors/{tutor_id}/block", headers=auth.headers(student))
    sessions = {tutor_id: rng.randint(1, 4) for tutor_id in rng.sample(ids, 5)}
    monkeypatch.setattr(scheduling, "tutors_with_completed_sessions", lambda student_id, limit: dict(
        sorted(sessions.items(), key=lambda item: (-item[1], item[0]))[:limit]))
    monkeypatch.setattr(scheduling, "completed_session_counts", lambda student_id, tutor_ids: {
        tutor_id: sessions[tutor_id] for tutor_id in tutor_ids if tutor_id in sessions})
    monkeypatch.setattr(scheduling, "availability_fractions", lambda tutor_ids, windows: {
        tutor_id: (tutor_id * 7 % 5) / 4 for tutor_id in tutor_ids})
    monkeypatch.setattr(services, "FETCH_ROWS", 1)
    window = [{"start": "2026-12-01T17:00:00+00:00", "end": "2026-12-01T19:00:00+00:00"}]
    bodies = [{"mode": "both", "location": {"lat": 48.85, "lon": 2.35}, "limit": 5},
              {"mode": "in_person", "location": {"lat": 48.85, "lon": 2.35}, "limit": 3,
               "budget": {"max_rate_cents": 6000, "currency": "USD"}},
              {"mode": "online", "limit": 4, "preferred_times": window, "learning_styles": ["reading", "visual"]},
              {"mode": "both", "location": {"lat": 49.5, "lon": 3.0}, "limit": 6, "preferred_times": window}]
    for level in ("primary", "university"):
        for overrides in bodies:
            for history_limit in (50, 2):  # a complete history, then one cut short
                monkeypatch.setattr(services, "HISTORY_CANDIDATE_LIMIT", history_limit)
                fast = _match_ids(client, auth, student, level=level, **overrides)
                exact = _exhaustive(monkeypatch, client, auth, student, level=level, **overrides)
                assert _ranking(fast) == _ranking(exact)
                assert fast["matches"] and fast["candidates_considered"] <= exact["candidates_considered"]


def test_a_few_rows_are_read_when_the_top_is_clear(client, auth, app, monkeypatch):
    """Only the first FETCH_ROWS rows are scored when the limit-th score beats every bound below them."""
    monkeypatch.setattr(services, "FETCH_ROWS", 2)
    best = _tutor("Best", rating_bayes=5.0, verified=True, years_experience=10)
    _tutor("Second", rating_bayes=4.9, verified=True, years_experience=10)
    for n in range(10):
        _tutor(f"Novice {n}", rating_bayes=2.0)
    body = _match_ids(client, auth, UserFactory(roles=["student"]), limit=1)
    assert [m["tutor"]["id"] for m in body["matches"]] == [best]
    assert body["candidates_considered"] == 2
    # Tied with the row after the cut: the statement is read again further (a tie goes to the lower id).
    _tutor("Best Twin", rating_bayes=5.0, verified=True, years_experience=10)
    body = _match_ids(client, auth, UserFactory(roles=["student"]), limit=1)
    assert [m["tutor"]["id"] for m in body["matches"]] == [best]
    assert body["candidates_considered"] > 2


def test_blocked_and_unlisted_tutors_are_not_candidates(client, auth, app, monkeypatch):
    monkeypatch.setattr(services, "FETCH_ROWS", 1)
    student = UserFactory(roles=["student"])
    blocked = _tutor("Blocked", rating_bayes=5.0)
    gone = _tutor("Gone", rating_bayes=4.9)
    db.session.get(TutorProfile, gone).user.is_active = False
    db.session.commit()
    client.post(f"/api/v1/tutors/{blocked}/block", headers=auth.headers(student))
    third, fourth = _tutor("Third", rating_bayes=4.0), _tutor("Fourth", rating_bayes=3.0)
    _tutor("Fifth", rating_bayes=2.0)
    body = _match_ids(client, auth, student, limit=2)
    assert [m["tutor"]["id"] for m in body["matches"]] == [third, fourth]


def test_history_and_distance_can_lift_a_weak_tutor_to_the_top(client, auth, app, monkeypatch):
    monkeypatch.setattr(services, "FETCH_ROWS", 1)
    student = UserFactory(roles=["student"])
    star = _tutor("Star", rating_bayes=5.0, verified=True, years_experience=10)
    regular = _tutor("Regular", rating_bayes=2.0)
    near = _tutor("Nearby", rating_bayes=2.0, mode="in_person", latitude=48.86, longitude=2.35, travel_radius_km=10)
    monkeypatch.setattr(scheduling, "tutors_with_completed_sessions", lambda student_id, limit: {regular: 3})
    paris = {"lat": 48.8566, "lon": 2.3522}
    with unit_of_work():
        weights.set_weights({"expertise": 0.1, "rating": 0.1, "price_fit": 0, "distance": 0, "style_fit": 0,
                             "availability": 0, "history": 1})
    body = _match_ids(client, auth, student, mode="both", location=paris, limit=1)
    assert [m["tutor"]["id"] for m in body["matches"]] == [regular]
    assert "You have completed 3 sessions together" in body["matches"][0]["reasons"]
    with unit_of_work():
        weights.set_weights({"expertise": 0.1, "rating": 0.1, "price_fit": 0, "distance": 1, "style_fit": 0,
                             "availability": 0, "history": 0})
    body = _match_ids(client, auth, student, mode="both", location=paris, limit=1)
    assert [m["tutor"]["id"] for m in body["matches"]] == [near] and body["matches"][0]["parts"]["distance"] == 1.0
    online = _match_ids(client, auth, student, mode="online", location=paris, limit=1)
    assert [m["tutor"]["id"] for m in online["matches"]] == [star]


def test_candidate_statement_is_built_once_per_request_shape(app):
    """Requests differing only in values share one prebuilt statement (values are parameters, not SQL)."""
    student = UserFactory(roles=["student"])
    current = weights.current_weights()
    paris = {"subject": "mathematics", "level": "secondary", "mode": "both", "location": {"lat": 48.86, "lon": 2.35},
             "budget": {"max_rate_cents": 5000, "currency": "EUR"}}
    tokyo = {**paris, "level": "primary", "location": {"lat": 35.68, "lon": 139.65},
             "budget": {"max_rate_cents": 9000, "currency": "USD"}, "learning_styles": ["visual"]}
    shape_a, params_a = services.candidate_params(student, paris, 1, current, 30)
    shape_b, params_b = services.candidate_params(student, tokyo, 2, current, 120)
    assert shape_a == shape_b and params_a != params_b
    assert services.candidate_statement(shape_a) is services.candidate_statement(shape_b)
    online, _params = services.candidate_params(student, {**paris, "mode": "online"}, 1, current, 30)
    assert online != shape_a  # another shape (no location): its own statement
    assert services.candidate_statement(online) is not services.candidate_statement(shape_a)


def test_match_ends_its_read_only_transaction_with_commit(client, auth, app):
    """So the teardown does not ROLLBACK (psycopg would deallocate the prepared candidate statement)."""
    _tutor("Tia")
    student = UserFactory(roles=["student"])
    headers = auth.headers(student)
    with transaction_ends() as ends:
        response = client.post("/api/v1/matches", headers=headers,
                               json={"subject": "mathematics", "level": "secondary", "mode": "online"})
    assert len(response.get_json()["matches"]) == 1
    assert ends == ["commit"]


def test_availability_is_asked_about_a_bounded_number_of_tutors(client, auth, app, monkeypatch):
    """Slots are computed per tutor: with preferred times at most AVAILABILITY_CANDIDATE_LIMIT tutors are asked."""
    monkeypatch.setattr(services, "FETCH_ROWS", 1)
    monkeypatch.setattr(services, "AVAILABILITY_CANDIDATE_LIMIT", 4)
    asked = []

    def availability(tutor_ids, windows):
        asked.extend(tutor_ids)
        return dict.fromkeys(tutor_ids, 0.0)  # nobody is free: the ceiling is never beaten

    monkeypatch.setattr(scheduling, "availability_fractions", availability)
    ids = [_tutor(f"Tutor {n}", rating_bayes=5.0 - n / 10) for n in range(12)]
    window = [{"start": "2026-12-01T17:00:00+00:00", "end": "2026-12-01T19:00:00+00:00"}]
    body = _match_ids(client, auth, UserFactory(roles=["student"]), limit=1, preferred_times=window)
    assert len(asked) == len(set(asked)) <= 4 and body["candidates_considered"] <= 4
    assert [m["tutor"]["id"] for m in body["matches"]] == [ids[0]]
