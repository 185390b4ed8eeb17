"""Score weights: the `matching_weights` table is the one place they live (seeded by migration 0002).

A table rather than config so the learned-matching job can write new weights without a deploy; reads go
through a small per-process cache (WEIGHTS_TTL seconds) so matching does not query it on every request.
FALLBACK_WEIGHTS only covers an empty table (a database emptied outside the migrations).
"""
import time

import sqlalchemy as sa

from app.common.events import publish
from app.extensions import db
from app.matching.models import MatchingWeight

PARTS = ("expertise", "rating", "price_fit", "distance", "style_fit", "availability", "history")
FALLBACK_WEIGHTS = {"expertise": 0.25, "rating": 0.2, "price_fit": 0.15, "distance": 0.15,
                    "style_fit": 0.1, "availability": 0.1, "history": 0.05}
WEIGHTS_TTL = 60.0

_cache = {"at": None, "weights": None}


def current_weights():
    """{part: weight} for every part (a part missing from the table weighs 0)."""
    now = time.monotonic()
    if _cache["weights"] is None or now - _cache["at"] > WEIGHTS_TTL:
        rows = dict(db.session.execute(sa.select(MatchingWeight.name, MatchingWeight.weight)).all())
        _cache["weights"] = {part: float(rows.get(part, 0.0)) for part in PARTS} if rows else dict(FALLBACK_WEIGHTS)
        _cache["at"] = now
    return dict(_cache["weights"])


def set_weights(weights):
    """Replace weights (the learned-matching entry point). Once the caller's unit of work commits,
    ``matching.weights_changed`` clears this process's cache (others follow within WEIGHTS_TTL)."""
    unknown = set(weights) - set(PARTS)
    if unknown:
        raise ValueError(f"Unknown weight names: {sorted(unknown)}")
    for name, weight in weights.items():
        row = db.session.get(MatchingWeight, name) or MatchingWeight(name=name)
        row.weight = float(weight)
        db.session.add(row)
    publish("matching.weights_changed", weights={name: float(weight) for name, weight in weights.items()})


def clear_cache():
    _cache["weights"] = None
