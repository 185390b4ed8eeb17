"""Learned matching: the interaction log and its joins, training, evaluation, A/B arms, the events and admin
endpoints, exact top-k with learned weights."""
import random
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.common.events import publish
from app.common.time import utcnow
from app.common.transactions import unit_of_work
from app.extensions import db
from app.matching import learning, services, simulation, weights
from app.matching.models import MatchImpression, MatchModel, MatchOutcome, MatchRequestLog
from app.reviews import services as reviews
from app.tutors.models import LEVELS
from app.users.models import LEARNING_STYLES
from tests.conftest import assert_error
from tests.factories import UserFactory, completed_booking
from tests.matching.test_candidates import _exhaustive, _match_ids, _ranking, _tutor

LEARNED = {"expertise": 0.05, "rating": 0.4, "price_fit": 0.2, "distance": 0.05, "style_fit": 0.3,
           "availability": 0.0, "history": 0.0}


@pytest.fixture(autouse=True)
def _fresh_caches(app):
    weights.clear_cache()
    learning.clear_model_cache()
    yield
    weights.clear_cache()
    learning.clear_model_cache()


@pytest.fixture
def learned_arm(app, monkeypatch):
    """Every student in the learned arm, new students included, and a stored model in the cache."""
    monkeypatch.setitem(app.config, "MATCH_LEARNED_SHARE", 1.0)
    monkeypatch.setitem(app.config, "MATCH_NEW_STUDENT_REQUESTS", 0)
    with unit_of_work():
        db.session.add(MatchModel(version=7, kind="logistic_regression", features=list(learning.FEATURES),
                                  weights=LEARNED, metrics={}, trained_on=0))
    learning.refresh_model()
    return LEARNED


def _field():
    return {name: _tutor(name, rating_bayes=rating, teaching_styles=styles, rate_cents=rate)
            for name, rating, styles, rate in (("Ann", 4.9, ["visual"], 5000), ("Bob", 3.0, [], 2000),
                                               ("Cy", 4.0, ["visual"], 3000))}


def _match(client, auth, student, **overrides):
    body = {"subject": "mathematics", "level": "secondary", "mode": "online", **overrides}
    response = client.post("/api/v1/matches", json=body, headers=auth.headers(student))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


# --- log ----------------------------------------------------------------------------------------------------

def test_each_response_logs_an_impression_per_tutor_with_its_parts(client, auth, app):
    tutors = _field()
    student = UserFactory(roles=["student"], learning_styles=["visual"])
    body = _match(client, auth, student)
    request = db.session.get(MatchRequestLog, body["request_id"])
    assert request.student_id == student.id and request.arm == body["arm"] and request.explore is False
    assert request.features["subject"] == "mathematics" and request.features["mode"] == "online"
    rows = db.session.scalars(sa.select(MatchImpression).where(MatchImpression.request_id == body["request_id"])
                              .order_by(MatchImpression.rank)).all()
    assert [row.tutor_id for row in rows] == [m["tutor"]["id"] for m in body["matches"]]
    assert set(tutors.values()) == {row.tutor_id for row in rows}
    first = body["matches"][0]
    assert rows[0].parts == [first["parts"][name] for name in weights.PARTS] and rows[0].score == first["score"]
    assert sum(first["contributions"].values()) == pytest.approx(first["score"], abs=1e-3)


def test_exploration_shows_the_same_tutors_in_a_random_order(client, auth, app, monkeypatch):
    _field()
    monkeypatch.setitem(app.config, "MATCH_EXPLORE_RATE", 1.0)
    student = UserFactory(roles=["student"])
    body = _match(client, auth, student)
    assert body["explore"] is True and db.session.get(MatchRequestLog, body["request_id"]).explore is True
    ranks = dict(db.session.execute(sa.select(MatchImpression.tutor_id, MatchImpression.rank)
                                    .where(MatchImpression.request_id == body["request_id"])).all())
    assert [ranks[m["tutor"]["id"]] for m in body["matches"]] == [1, 2, 3]


def test_views_clicks_bookings_completion_repeat_rating_and_messages_join(client, auth, app):
    tutors = _field()
    student = UserFactory(roles=["student"])
    body = _match(client, auth, student)
    request_id, tutor_id = body["request_id"], tutors["Ann"]
    url = f"/api/v1/matches/{request_id}/events"
    response = client.post(url, json={"tutor_id": tutor_id, "kind": "viewed"}, headers=auth.headers(student))
    assert response.status_code == 201 and response.get_json()["kind"] == "viewed"
    again = client.post(url, json={"tutor_id": tutor_id, "kind": "viewed"}, headers=auth.headers(student))
    assert again.status_code == 201
    client.post(url, json={"tutor_id": tutor_id, "kind": "clicked"}, headers=auth.headers(student))
    booking = completed_booking(student=student, tutor=db.session.get(type(student), tutor_id))
    with unit_of_work():  # the events scheduling and messaging publish, delivered to matching's subscribers
        publish("booking.requested", booking_id=booking.id, student_id=student.id, tutor_id=tutor_id,
                previous_state=None)
        publish("booking.completed", booking_id=booking.id, student_id=student.id, tutor_id=tutor_id,
                previous_state="started")
        publish("message.created", message={"sender_id": student.id, "kind": "text"},
                participant_ids=[student.id, tutor_id], skip_sid=None)
        publish("message.created", message={"sender_id": tutor_id, "kind": "booking"},
                participant_ids=[student.id, tutor_id], skip_sid=None)
    with unit_of_work():
        reviews.create_review(student, booking.id, {"clarity": 5, "knowledge": 5, "responsiveness": 4,
                                                    "punctuality": 5, "overall": 5, "would_recommend": True})
    second = completed_booking(student=student, tutor=db.session.get(type(student), tutor_id))
    with unit_of_work():
        publish("booking.confirmed", booking_id=second.id, student_id=student.id, tutor_id=tutor_id,
                previous_state=None)
    outcomes = {row.kind: row for row in db.session.scalars(
        sa.select(MatchOutcome).where(MatchOutcome.request_id == request_id, MatchOutcome.tutor_id == tutor_id))}
    assert set(outcomes) == {"viewed", "clicked", "booked", "completed", "messaged", "rated", "repeat"}
    assert outcomes["booked"].booking_id == booking.id and outcomes["rated"].value == 5.0
    assert outcomes["repeat"].booking_id == second.id
    other = db.session.scalars(sa.select(MatchOutcome.kind).where(MatchOutcome.tutor_id != tutor_id)).all()
    assert other == []


def test_bookings_without_a_recent_impression_join_nothing(client, auth, app):
    tutors = _field()
    student = UserFactory(roles=["student"])
    body = _match(client, auth, student)
    db.session.get(MatchRequestLog, body["request_id"]).created_at = utcnow() - timedelta(
        days=learning.ATTRIBUTION_DAYS + 1)
    db.session.commit()
    with unit_of_work():
        learning.join_booking_created(99, student.id, tutors["Ann"])
        learning.join_booking_created(98, UserFactory(roles=["student"]).id, tutors["Bob"])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MatchOutcome)) == 0


def test_prune_deletes_the_log_past_retention(client, auth, app):
    _field()
    student = UserFactory(roles=["student"])
    old, new = _match(client, auth, student), _match(client, auth, student)
    client.post(f"/api/v1/matches/{old['request_id']}/events", json={"tutor_id": old["matches"][0]["tutor"]["id"],
                                                                      "kind": "viewed"}, headers=auth.headers(student))
    db.session.get(MatchRequestLog, old["request_id"]).created_at = utcnow() - timedelta(
        days=app.config["MATCH_LOG_RETENTION_DAYS"] + 1)
    db.session.commit()
    with unit_of_work():
        assert services.prune_match_log() == 1
    assert db.session.scalars(sa.select(MatchRequestLog.id)).all() == [new["request_id"]]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MatchOutcome)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MatchImpression)) == 3


# --- events endpoint -------------------------------------------------------------------------------------------

def test_event_endpoint_refuses_bad_input_other_students_and_other_roles(client, auth, app):
    tutors = _field()
    student, other = UserFactory(roles=["student"]), UserFactory(roles=["student"])
    body = _match(client, auth, student)
    url = f"/api/v1/matches/{body['request_id']}/events"
    ok = {"tutor_id": tutors["Ann"], "kind": "viewed"}
    assert_error(client.post(url, json=ok, headers=auth.headers(other)), 404)
    assert_error(client.post("/api/v1/matches/nope/events", json=ok, headers=auth.headers(student)), 404)
    outsider = UserFactory(roles=["tutor"]).id
    assert_error(client.post(url, json={"tutor_id": outsider, "kind": "viewed"}, headers=auth.headers(student)), 404)
    bad = client.post(url, json={"tutor_id": tutors["Ann"], "kind": "liked"}, headers=auth.headers(student))
    assert_error(bad, 422)
    assert "kind" in bad.get_json()["errors"]
    assert_error(client.post(url, json={"tutor_id": 0, "kind": "viewed"}, headers=auth.headers(student)), 422)
    assert_error(client.post(url, json={**ok, "extra": 1}, headers=auth.headers(student)), 422)
    assert_error(client.post(url, json=ok), 401)
    assert_error(client.post(url, json=ok, headers=auth.headers(UserFactory(roles=["tutor"]))), 403)


# --- arms -----------------------------------------------------------------------------------------------------

def test_arm_assignment_is_a_stable_hash_split_by_the_share(app):
    ids = range(1, 2001)
    first = [learning.assign_arm(i, 0.3) for i in ids]
    assert first == [learning.assign_arm(i, 0.3) for i in ids]
    assert 0.25 < first.count("learned") / len(first) < 0.35
    assert all(learning.assign_arm(i, 0.0) == "fixed" and learning.assign_arm(i, 1.0) == "learned" for i in ids)
    # raising the share only moves students from fixed to learned
    wider = [learning.assign_arm(i, 0.6) for i in ids]
    assert all(b == "learned" for a, b in zip(first, wider, strict=True) if a == "learned")
    assert learning.unit_hash(42) == learning.unit_hash(42)


def test_learned_arm_serves_the_model_and_explains_with_its_weights(client, auth, app, learned_arm):
    _field()
    student = UserFactory(roles=["student"], learning_styles=["visual"])
    body = _match(client, auth, student)
    assert body["arm"] == "learned" and body["model_version"] == 7 and body["weights"] == LEARNED
    for match in body["matches"]:
        assert match["contributions"] == {name: round(LEARNED[name] * value, 4)
                                          for name, value in match["parts"].items()}
    assert db.session.get(MatchRequestLog, body["request_id"]).model_version == 7


def test_new_students_and_the_fixed_arm_get_the_fixed_weights(client, auth, app, learned_arm, monkeypatch):
    _field()
    monkeypatch.setitem(app.config, "MATCH_NEW_STUDENT_REQUESTS", 2)
    student = UserFactory(roles=["student"])
    bodies = [_match(client, auth, student) for _ in range(3)]
    assert [body["model_version"] for body in bodies] == [None, None, 7]
    assert bodies[0]["weights"] == weights.FALLBACK_WEIGHTS and bodies[0]["arm"] == "learned"
    with unit_of_work():
        services.set_learned_share(0.0)
    body = _match(client, auth, student)
    assert body["arm"] == "fixed" and body["model_version"] is None


def test_top_is_exact_with_learned_weights(client, auth, app, monkeypatch, learned_arm):
    """The learned model is linear in the parts: the candidate bound stays exact (few rows read first)."""
    rng = random.Random(11)
    student = UserFactory(roles=["student"], learning_styles=["visual"])
    for n in range(40):
        _tutor(f"Tutor {n}", level=rng.choice(LEVELS), rate_cents=rng.randrange(1000, 9000, 500),
               mode=rng.choice(["online", "in_person", "both"]), latitude=48.85 + rng.uniform(-1.5, 1.5),
               longitude=2.35 + rng.uniform(-1.5, 1.5), travel_radius_km=rng.choice([None, 5, 150]),
               verified=rng.random() < 0.5, years_experience=rng.randint(0, 12),
               rating_bayes=rng.choice([None, 3.5, 4.0, 4.5]),
               teaching_styles=rng.sample(LEARNING_STYLES, rng.randint(0, 2)))
    monkeypatch.setattr(services, "FETCH_ROWS", 1)
    for overrides in ({"mode": "both", "location": {"lat": 48.85, "lon": 2.35}, "limit": 5},
                      {"mode": "online", "limit": 4, "budget": {"max_rate_cents": 6000, "currency": "USD"}}):
        fast = _match_ids(client, auth, student, **overrides)
        exact = _exhaustive(monkeypatch, client, auth, student, **overrides)
        assert fast["model_version"] == 7 and _ranking(fast) == _ranking(exact)
        assert fast["candidates_considered"] < exact["candidates_considered"]


# --- training and evaluation ---------------------------------------------------------------------------------

@pytest.fixture
def simulated(app):
    students = [UserFactory(roles=["student"]).id for _ in range(20)]
    with unit_of_work():
        simulation.simulate(students, range(5000, 5400), 1200, seed=3, explore_rate=0.3)
    return students


def test_training_recovers_the_simulated_preference_direction(app, simulated):
    with unit_of_work():
        model = services.train_model()
    assert model.version == 1 and model.features == list(learning.FEATURES)
    assert sum(model.weights.values()) == pytest.approx(1.0) and min(model.weights.values()) >= 0
    assert simulation.cosine(model.weights) > 0.95 > simulation.cosine(weights.FALLBACK_WEIGHTS)
    assert model.metrics["coefficients"]["position"] < 0  # the position effect is soaked up, not learned as weight
    assert set(model.metrics["held_out"]) == {"ndcg@10", "map", "auc_booked", "auc_good"}
    assert learning.cached_model()["version"] == 1  # matching.model_trained refreshed the cache
    with unit_of_work():
        assert services.train_model().version == 2


def test_evaluation_reports_both_arms_with_intervals_and_the_learned_lift(app, simulated):
    randomised = services.evaluate_models(resamples=100)
    assert randomised["requests"]["test"] > 50 and randomised["randomised"] is True
    assert randomised["propensities"]["1"] == 1.0 > randomised["propensities"]["10"]
    assert set(randomised["metrics"]) == {"ndcg@10", "map", "auc_booked", "auc_good"}
    assert randomised["metrics"]["ndcg@10"]["difference"]["value"] > 0
    assert randomised["metrics"]["auc_booked"]["difference"]["low"] > 0
    every = services.evaluate_models(resamples=100, randomised=False)
    assert every["requests"]["test"] > randomised["requests"]["test"]
    ndcg = every["metrics"]["ndcg@10"]
    for arm in ("fixed", "learned"):
        assert ndcg[arm]["low"] <= ndcg[arm]["value"] <= ndcg[arm]["high"]
    assert ndcg["difference"]["low"] > 0


def test_train_and_evaluate_commands(app, simulated):
    runner = app.test_cli_runner()
    trained = runner.invoke(args=["matching", "train"])
    assert trained.exit_code == 0, trained.output
    assert "Model version 1 trained on 12000 impressions" in trained.output
    evaluated = runner.invoke(args=["matching", "evaluate", "--resamples", "50"])
    assert evaluated.exit_code == 0, evaluated.output
    assert "ndcg@10" in evaluated.output and "learned - fixed" in evaluated.output


def test_training_refuses_a_thin_log(app):
    result = app.test_cli_runner().invoke(args=["matching", "train"])
    assert result.exit_code != 0 and "Not enough outcomes" in result.output


def test_ranking_metrics():
    import numpy as np

    gains, scores = np.array([0.0, 3.0, 1.0]), np.array([0.9, 0.5, 0.1])
    assert learning.ndcg_at(gains, np.array([0.1, 0.9, 0.5])) == pytest.approx(1.0)
    assert 0 < learning.ndcg_at(gains, scores) < 1
    assert learning.average_precision(np.array([False, True, False]), scores) == pytest.approx(0.5)
    assert learning.auc(np.array([True, False, False]), np.array([0.9, 0.5, 0.5])) == 1.0
    assert learning.auc(np.array([True, False]), np.array([0.5, 0.5])) == 0.5
    assert learning.auc(np.array([True, True]), scores[:2]) is None


# --- admin ----------------------------------------------------------------------------------------------------

def test_admin_arm_metrics(client, auth, app):
    _field()
    student = UserFactory(roles=["student"])
    body = _match(client, auth, student)
    client.post(f"/api/v1/matches/{body['request_id']}/events",
                json={"tutor_id": body["matches"][0]["tutor"]["id"], "kind": "viewed"}, headers=auth.headers(student))
    admin = UserFactory(roles=["admin"])
    window = {"from": (utcnow() - timedelta(days=1)).isoformat(), "to": (utcnow() + timedelta(days=1)).isoformat()}
    response = client.get("/api/v1/admin/matching/arms", query_string=window, headers=auth.headers(admin))
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    arms = {entry["arm"]: entry for entry in report["arms"]}
    assert arms[body["arm"]]["requests"] == 1 and arms[body["arm"]]["impressions"] == 3
    assert arms[body["arm"]]["rates"]["viewed"] == pytest.approx(1 / 3, abs=1e-3)
    assert report["learned_share"] == app.config["MATCH_LEARNED_SHARE"]
    assert_error(client.get("/api/v1/admin/matching/arms", query_string=window, headers=auth.headers(student)), 403)
    assert_error(client.get("/api/v1/admin/matching/arms", query_string=window), 401)
    backwards = {"from": window["to"], "to": window["from"]}
    assert_error(client.get("/api/v1/admin/matching/arms", query_string=backwards, headers=auth.headers(admin)), 422)
    assert_error(client.get("/api/v1/admin/matching/arms", query_string={"from": "2026-01-01T00:00:00"},
                            headers=auth.headers(admin)), 422)


def test_learned_share_is_bounded(app):
    with pytest.raises(learning.Invalid), unit_of_work():
        services.set_learned_share(1.5)


def test_demo_seed_trains_a_model_that_learned_arm_students_are_served(client, auth, app, monkeypatch):
    from app.seed import seed_demo

    users_by_email = seed_demo()
    version = db.session.scalar(sa.select(sa.func.max(MatchModel.version)))
    assert version == 1 and db.session.scalar(sa.select(sa.func.count()).select_from(MatchOutcome)) > 50
    assert seed_demo() and db.session.scalar(sa.select(sa.func.max(MatchModel.version))) == 1  # idempotent
    trained = app.test_cli_runner().invoke(args=["matching", "train"])
    assert trained.exit_code == 0 and "Model version 2" in trained.output
    monkeypatch.setitem(app.config, "MATCH_LEARNED_SHARE", 1.0)
    student = next(user for user in users_by_email.values() if "student" in user.roles)
    slug = db.session.execute(sa.text("SELECT slug FROM subjects ORDER BY id LIMIT 1")).scalar()
    body = _match(client, auth, student, subject=slug, level="university")
    assert body["arm"] == "learned" and body["model_version"] == 2


def test_cold_start_boost_decays_with_impressions_and_keeps_the_top_exact(client, auth, app, monkeypatch):
    monkeypatch.setitem(app.config, "MATCH_COLD_BOOST", 0.1)
    monkeypatch.setitem(app.config, "MATCH_COLD_HALF_LIFE", 2)
    rng = random.Random(4)
    student = UserFactory(roles=["student"], learning_styles=["visual"])
    for n in range(30):
        _tutor(f"Tutor {n}", rate_cents=rng.randrange(1000, 9000, 500), verified=rng.random() < 0.5,
               years_experience=rng.randint(0, 12), rating_bayes=rng.choice([None, 3.5, 4.0, 4.5]),
               teaching_styles=rng.sample(LEARNING_STYLES, rng.randint(0, 2)))
    monkeypatch.setattr(services, "FETCH_ROWS", 1)
    first = _match_ids(client, auth, student, limit=5)
    assert all(m["boost"] == 0.1 for m in first["matches"])
    assert all(sum(m["contributions"].values()) + m["boost"] == pytest.approx(m["score"], abs=1e-3)
               for m in first["matches"])
    shown = {m["tutor"]["id"] for m in first["matches"]}
    second = _match_ids(client, auth, student, limit=5)  # each shown tutor now has 2 impressions: boost halved
    request = {"subject": "mathematics", "level": "secondary", "mode": "online"}
    for _ in range(3):  # rank() logs nothing, so both see the same impressions
        _match_ids(client, auth, student, limit=5)
        fast = services.rank(student, dict(request), limit=5)
        with monkeypatch.context() as patch:
            patch.setattr(services, "FETCH_ROWS", 10 ** 6)
            exact = services.rank(student, dict(request), limit=5)
        assert [(m["tutor"].id, m["score"]) for m in fast["matches"]] == [
            (m["tutor"].id, m["score"]) for m in exact["matches"]]
    assert {m["tutor"]["id"] for m in second["matches"]} != shown or all(
        m["boost"] < 0.1 for m in second["matches"] if m["tutor"]["id"] in shown)
    counts = dict(db.session.execute(
        sa.select(MatchImpression.tutor_id, sa.func.count()).where(MatchImpression.tutor_id.in_(shown))
        .group_by(MatchImpression.tutor_id)).all())
    assert all(learning.cold_boost(counts[tutor_id], 0.1, 2) < 0.1 for tutor_id in shown)
