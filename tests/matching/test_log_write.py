"""The match log's write path: one statement on PostgreSQL equal to its portable twin, and what a POST /matches
request reads besides its candidates (the learned share comes from the process cache)."""
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.common.errors import Conflict
from app.common.time import utcnow
from app.common.transactions import unit_of_work
from app.extensions import db
from app.matching import learning, queries, services
from app.matching.models import MatchImpression, MatchModel, MatchRequestLog
from tests.factories import UserFactory
from tests.matching.test_learning import _field, _match

FEATURES = {"subject": "mathematics", "level": "secondary", "mode": "online", "location": False, "budget": True,
            "styles": 2, "times": 0}


def _shown(n):
    return [{"tutor_id": 100 + k, "rank": k + 1, "score": round(0.9 - k / 100, 4),
             "parts": [0.75, 0.5, round(k / 7, 4), 0.5, 1.0, 0.5, 0.0]} for k in range(n)]


def _logged(request_id):
    request = db.session.get(MatchRequestLog, request_id)
    row = {column: getattr(request, column) for column in ("student_id", "created_at", "arm", "model_version",
                                                             "explore", "features")}
    shown = db.session.execute(sa.select(MatchImpression.tutor_id, MatchImpression.rank, MatchImpression.score,
                                         MatchImpression.parts)
                               .where(MatchImpression.request_id == request_id)
                               .order_by(MatchImpression.rank)).all()
    return row, [tuple(impression) for impression in shown]


@pytest.mark.postgres
@pytest.mark.parametrize("shown", [0, 1, 10])
def test_the_one_statement_log_write_equals_the_portable_twin(app, shown):
    student = UserFactory(roles=["student"])
    at = utcnow() - timedelta(minutes=3)
    for request_id, write in (("a" * 32, queries.insert_match_log), ("b" * 32, queries.insert_match_log_portable)):
        with unit_of_work():
            write({"id": request_id, "student_id": student.id, "created_at": at, "arm": "learned",
                   "model_version": 3 if shown else None, "explore": shown == 1, "features": FEATURES},
                  _shown(shown))
    fast, portable = _logged("a" * 32), _logged("b" * 32)
    assert fast == portable and len(fast[1]) == shown and fast[0]["created_at"] == at


@pytest.mark.postgres
def test_the_one_statement_log_write_is_all_or_nothing(app):
    """An unknown student (a foreign key of the request row) refuses the impressions of the same statement too."""
    with pytest.raises(Conflict), unit_of_work():
        queries.insert_match_log({"id": "c" * 32, "student_id": 10 ** 6, "created_at": utcnow(), "arm": "fixed",
                                  "model_version": None, "explore": False, "features": FEATURES}, _shown(2))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MatchImpression)) == 0


def test_a_match_reads_no_setting_once_the_share_is_cached(client, auth, app, monkeypatch):
    monkeypatch.setitem(app.config, "MATCH_LEARNED_SHARE", 0.0)
    _field()
    student = UserFactory(roles=["student"])
    _match(client, auth, student)  # fills the cache
    statements = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        body = _match(client, auth, student)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert body["arm"] == "fixed" and body["request_id"]
    assert not [text for text in statements if "match_settings" in text or "match_models" in text]


def test_a_committed_share_is_served_at_once_by_this_process(client, auth, app, monkeypatch):
    monkeypatch.setitem(app.config, "MATCH_LEARNED_SHARE", 0.0)
    _field()
    student = UserFactory(roles=["student"])
    assert _match(client, auth, student)["arm"] == "fixed"
    with unit_of_work():
        services.set_learned_share(1.0)
    assert learning.cached_share() == 1.0
    assert _match(client, auth, student)["arm"] == "learned"
    with pytest.raises(RuntimeError), unit_of_work():  # a rolled-back switch changes nothing
        services.set_learned_share(0.0)
        raise RuntimeError
    assert learning.cached_share() == 1.0 and _match(client, auth, student)["arm"] == "learned"


def test_under_make_run_a_model_trained_by_another_process_is_served_within_seconds(client, auth, app, monkeypatch):
    """`flask matching train` runs in its own process: the server's cache learns of the new version only by
    re-reading it, which the development config does every few seconds (a newcomer matches again at once)."""
    from config import DevelopmentConfig

    monkeypatch.setitem(app.config, "MATCH_LEARNED_SHARE", 1.0)
    monkeypatch.setitem(app.config, "MATCH_NEW_STUDENT_REQUESTS", 0)
    monkeypatch.setitem(app.config, "MATCH_MODEL_TTL_SECONDS", DevelopmentConfig.MATCH_MODEL_TTL_SECONDS)
    _field()
    student = UserFactory(roles=["student"])
    weights = dict.fromkeys(learning.PARTS, 1 / 7)
    for version in (1, 2):
        with unit_of_work():  # a row written as another process would: no event reaches this one
            db.session.add(MatchModel(version=version, kind="logistic_regression", features=list(learning.FEATURES),
                                      weights=weights, metrics={}, trained_on=0))
        if version == 1:
            assert _match(client, auth, student)["model_version"] == 1
    now = time.monotonic()
    monkeypatch.setattr(learning.time, "monotonic", lambda: now + 10)
    assert _match(client, auth, student)["model_version"] == 2


def test_the_cold_start_boost_ends_at_the_exposure_cap_where_counting_stops(client, auth, app, monkeypatch):
    """Half-life 1: the cap is 10 impressions. A tutor shown 25 times has no boost (the candidate statement counted
    10 of them), one shown 3 times an eighth of it; the top stays the exhaustive one."""
    monkeypatch.setitem(app.config, "MATCH_COLD_BOOST", 0.1)
    monkeypatch.setitem(app.config, "MATCH_COLD_HALF_LIFE", 1)
    tutors = _field()
    student, other = UserFactory(roles=["student"]), UserFactory(roles=["student"])
    seen = {tutors["Ann"]: 25, tutors["Bob"]: 3}
    with unit_of_work():
        for n in range(25):
            learning.log_response(other.id, FEATURES, [
                {"tutor_id": tutor_id, "score": 0.5, "parts": dict.fromkeys(learning.PARTS, 0.5)}
                for tutor_id, times in seen.items() if n < times], "fixed", None, False)
    body = _match(client, auth, student)
    boosts = {match["tutor"]["id"]: match["boost"] for match in body["matches"]}
    assert boosts == {tutors["Ann"]: 0.0, tutors["Bob"]: 0.0125, tutors["Cy"]: 0.1}
    request = {"subject": "mathematics", "level": "secondary", "mode": "online"}
    with monkeypatch.context() as patch:
        patch.setattr(services, "FETCH_ROWS", 1)
        fast = services.rank(student, dict(request), limit=3)
        patch.setattr(services, "FETCH_ROWS", 10 ** 6)
        exact = services.rank(student, dict(request), limit=3)
    assert [(m["tutor"].id, m["score"]) for m in fast["matches"]] == [
        (m["tutor"].id, m["score"]) for m in exact["matches"]]
    subject_id = db.session.scalar(sa.text("SELECT id FROM subjects WHERE slug = 'mathematics'"))
    rows = db.session.execute(services.candidate_rows_query(student, request, subject_id, services.current_weights(),
                                                            10, exposure_cap=learning.exposure_cap(1))).all()
    # The match logged one more impression of each.
    assert {row.id: row.shown for row in rows} == {tutors["Ann"]: 10, tutors["Bob"]: 4, tutors["Cy"]: 1}
