"""Bench: learned matching on simulated students whose preferences are known (app/matching/simulation.py).

    .venv/bin/python bench/match_sim.py            # SIM_REQUESTS=3000 SIM_SEED=1 SIM_EXPLORE=0.2

Builds a fresh SQLite database from the migrations (a temporary file), creates simulated students and tutor ids,
writes the match log (requests, impressions, outcomes) through the learning module as the app does, then:

1. the offline evaluation `flask matching evaluate` runs (learning.evaluate: fitted on the earliest 80% of the
   requests, fixed weights vs learned on the latest 20%, gains divided by their rank's examination propensity
   estimated on the randomised requests, bootstrap 95% intervals), judged on the held-out requests shown in a random
   order, and the same on every held-out request;
2. the ground-truth lift: on the held-out requests, each student's true booking probability (hidden preferences,
   no position effect) is the gain; NDCG@10 of re-ranking the shown tutors by the fixed and the learned weights;
3. position bias: the cosine of the learned weights with the hidden preference direction, for the model with the
   position feature (served) and without it (naive, on the non-randomised requests only), beside the fixed
   weights' cosine. A model that learned position bias drifts towards the policy's (fixed) weights.
Recorded figures: bench/README.md.
"""
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config import TestingConfig

REQUESTS = int(os.environ.get("SIM_REQUESTS", "3000"))
SEED = int(os.environ.get("SIM_SEED", "1"))
EXPLORE = float(os.environ.get("SIM_EXPLORE", "0.2"))
STUDENTS, TUTORS = 200, 2000


def main():
    from flask_migrate import upgrade

    from app import create_app
    from app.common.transactions import unit_of_work
    from app.extensions import db
    from app.matching import learning, simulation
    from app.matching.commands import format_evaluation
    from app.matching.weights import FALLBACK_WEIGHTS, PARTS
    from app.users import services as users

    path = Path(tempfile.mkdtemp()) / "match_sim.db"

    class SimConfig(TestingConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{path}"

    app = create_app(SimConfig)
    with app.app_context():
        upgrade()
        with unit_of_work():
            students = [users.create_user(f"sim{n}@example.com", "sim-password-123", f"Sim {n}", ["student"]).id
                        for n in range(STUDENTS)]
        with unit_of_work():
            counts = simulation.simulate(students, range(10_000, 10_000 + TUTORS), REQUESTS, seed=SEED,
                                         explore_rate=EXPLORE)
        print(f"log: {counts}")
        frame = learning.load_frame()
        result = learning.evaluate(FALLBACK_WEIGHTS, frame=frame, resamples=500, seed=SEED)
        print(format_evaluation(result))
        print("\nthe same on every held-out request, propensity-weighted (`--all-requests`):")
        print(format_evaluation(learning.evaluate(FALLBACK_WEIGHTS, frame=frame, resamples=200, seed=SEED,
                                                  randomised=False)))
        learned = result["weights"]["learned"]
        print(f"\nground truth (held-out requests, true booking probability as gain, {len(result['weights'])} arms):")
        print(_true_lift(frame, learned, FALLBACK_WEIGHTS, students, SEED, learning, simulation))
        train, _test = learning.time_split(frame)
        naive, _ = learning.fit(train.take(~train.explore), with_position=False)
        _w, coefficients = learning.fit(train)
        print("\nposition bias (cosine with the hidden preference direction):")
        print(f"  fixed weights                         {simulation.cosine(FALLBACK_WEIGHTS):.3f}")
        print(f"  learned, position feature + explore   {simulation.cosine(learned):.3f}")
        print(f"  naive: no position, ranked data only  {simulation.cosine(naive):.3f}")
        print(f"  position coefficient (log2(1+rank))   {coefficients['position']:+.3f}")
        print("  hidden preference  " + ", ".join(f"{p} {simulation.PREFERENCE[p]:.2f}" for p in PARTS))
        print("  learned            " + ", ".join(f"{p} {learned[p]:.2f}" for p in PARTS))
        print("  naive              " + ", ".join(f"{p} {naive[p]:.2f}" for p in PARTS))
        db.session.remove()


def _true_lift(frame, learned, fixed, students, seed, learning, simulation):
    """NDCG@10 with the student's true booking probability as gain (the same hidden preferences the simulation
    drew: same seed, same order), learned - fixed per request, bootstrap 95% interval."""
    rng = np.random.default_rng(seed)
    simulation.tutor_parts(rng, range(10_000, 10_000 + TUTORS))
    preferences = simulation.student_preferences(rng, students)
    _train, test = learning.time_split(frame)
    owners = dict(learning.db.session.execute(
        learning.sa.select(learning.MatchRequestLog.id, learning.MatchRequestLog.student_id)).all())
    vectors = np.array([[preferences[owners[rid]][p] for p in learning.PARTS] for rid in test.request_ids])
    utility = (vectors * test.parts).sum(axis=1)
    truth = 1 / (1 + np.exp(-(simulation.SHARPNESS * (utility - simulation.CENTRE) - 0.5)))
    groups = learning._groups(test.request_ids)
    per = {}
    for name, weights in (("fixed", fixed), ("learned", learned)):
        scores = learning.score_with(test, weights)
        per[name] = np.array([learning.ndcg_at(truth[g] * 3, scores[g]) for g in groups])
    diff = per["learned"] - per["fixed"]
    boot = [diff[np.random.default_rng(seed + i).integers(0, len(diff), len(diff))].mean() for i in range(500)]
    low, high = np.percentile(boot, [2.5, 97.5])
    return (f"  NDCG@10 fixed {per['fixed'].mean():.4f}  learned {per['learned'].mean():.4f}  "
            f"difference {diff.mean():+.4f} [{low:+.4f}, {high:+.4f}]")


if __name__ == "__main__":
    main()
