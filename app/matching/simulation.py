"""A simulator of students choosing among shown tutors, for the offline evaluation (bench/match_sim.py), the
tests and the demo seed: it writes the match log through learning.log_response and learning.record_outcome, as
POST /matches and the subscribers do, so training and evaluation read it like the real log.

Each request shows SHOWN of POOL candidate tutors, ranked by the policy's weights (the fixed weights), and a share
(explore_rate) in a random order. A student has hidden preferences around PREFERENCE (style, price sensitivity,
distance, rating weight, expertise), spread by a log-normal factor per student; a tutor's utility is the
preference-weighted sum of its parts. The student examines rank r with probability EXAMINATION ** (r - 1)
(position bias), views an examined tutor with a probability rising with utility, books a viewed one likewise,
completes 90% of bookings and rates by utility. Ground truth is known: PREFERENCE is the direction a model
should recover, and a model that learned position bias would drift towards the policy's weights instead.
"""
import math
from datetime import timedelta

import numpy as np

from app.common.time import utcnow
from app.matching import learning
from app.matching.weights import FALLBACK_WEIGHTS, PARTS

PREFERENCE = {"expertise": 0.05, "rating": 0.35, "price_fit": 0.20, "distance": 0.05, "style_fit": 0.35,
              "availability": 0.0, "history": 0.0}
POOL, SHOWN = 20, 10
EXAMINATION = 0.85
SHARPNESS, CENTRE = 20.0, 0.62


def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


def tutor_parts(rng, tutors):
    """Request-independent parts of each tutor: expertise and rating."""
    return {tutor_id: (rng.uniform(0.3, 1.0), rng.uniform(0.4, 1.0)) for tutor_id in tutors}


def request_parts(rng, fixed):
    """The seven parts of a candidate for one request (price, distance and style depend on the request)."""
    expertise, rating = fixed
    return {"expertise": expertise, "rating": rating, "price_fit": rng.uniform(0.5, 1.0),
            "distance": rng.uniform(0.0, 1.0), "style_fit": float(rng.choice([0.0, 0.5, 1.0])),
            "availability": 0.5, "history": 0.0}


def student_preferences(rng, students, spread=0.3):
    return {student_id: {name: weight * math.exp(rng.normal(0.0, spread)) for name, weight in PREFERENCE.items()}
            for student_id in students}


def simulate(students, tutors, requests, seed=0, explore_rate=0.2, policy=None, start=None, days=60,
             subjects=("simulated",), learned_share=None):
    """Write ``requests`` simulated match responses (their subject taken in turn from ``subjects``) and their
    outcomes; returns counts of what was written. Every response is ranked by ``policy``; it is logged under the
    fixed arm, or with ``learned_share`` under the student's arm (learning.assign_arm), as POST /matches logs a
    learned-arm student served the fixed weights while no model exists."""
    rng = np.random.default_rng(seed)
    policy = policy or FALLBACK_WEIGHTS
    total = sum(policy.values())
    profiles = tutor_parts(rng, tutors)
    preferences = student_preferences(rng, students)
    start = start or utcnow() - timedelta(days=days)
    step = timedelta(days=days) / max(requests, 1)
    counts = dict.fromkeys(("requests", "impressions", "viewed", "booked", "completed", "rated"), 0)
    students, tutors = list(students), list(tutors)
    arms = {student: "fixed" if learned_share is None else learning.assign_arm(student, learned_share)
            for student in students}
    for n in range(requests):
        at = start + n * step
        student = students[int(rng.integers(len(students)))]
        pool = rng.choice(len(tutors), size=min(POOL, len(tutors)), replace=False)
        candidates = [(tutors[i], request_parts(rng, profiles[tutors[i]])) for i in pool]
        scored = [(sum(policy[p] * parts[p] for p in PARTS) / total, tutor_id, parts) for tutor_id, parts in candidates]
        shown = sorted(scored, key=lambda item: (-item[0], item[1]))[:SHOWN]
        explore = rng.random() < explore_rate
        if explore:
            shown = [shown[i] for i in rng.permutation(len(shown))]
        request_id = learning.log_response(
            student, {"subject": subjects[n % len(subjects)], "level": "any", "mode": "online", "location": False, "budget": True,
                      "styles": 1, "times": 0},
            [{"tutor_id": tutor_id, "score": round(score, 4), "parts": parts} for score, tutor_id, parts in shown],
            arms[student], None, bool(explore), at=at)
        counts["requests"] += 1
        counts["impressions"] += len(shown)
        _choose(rng, request_id, preferences[student], shown, at, counts)
    return counts


def _choose(rng, request_id, preference, shown, at, counts):
    for rank, (_score, tutor_id, parts) in enumerate(shown, start=1):
        utility = sum(preference[p] * parts[p] for p in PARTS)
        appeal = SHARPNESS * (utility - CENTRE)
        if rng.random() >= EXAMINATION ** (rank - 1) or rng.random() >= _sigmoid(appeal + 0.5):
            continue
        learning.record_outcome(request_id, tutor_id, "viewed", at=at + timedelta(minutes=1))
        counts["viewed"] += 1
        if rng.random() >= _sigmoid(appeal):
            continue
        learning.record_outcome(request_id, tutor_id, "booked", at=at + timedelta(hours=1))
        counts["booked"] += 1
        if rng.random() >= 0.9:
            continue
        learning.record_outcome(request_id, tutor_id, "completed", at=at + timedelta(days=3))
        counts["completed"] += 1
        rating = int(min(5, max(1, round(1 + 4 * _sigmoid(appeal) + rng.normal(0.0, 0.5)))))
        learning.record_outcome(request_id, tutor_id, "rated", value=float(rating), at=at + timedelta(days=4))
        counts["rated"] += 1


def cosine(weights, reference=None):
    """Cosine similarity of a weight dict with the hidden preference direction (or ``reference``)."""
    reference = reference or PREFERENCE
    a = np.array([weights.get(p, 0.0) for p in PARTS])
    b = np.array([reference[p] for p in PARTS])
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
