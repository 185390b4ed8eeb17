"""Learned matching: the interaction log, the A/B arms, the model cache, training and the offline evaluation.

Log: every POST /matches response is a ``match_requests`` row (its id goes back to the client) with one
``match_impressions`` row per tutor shown (rank, score, the seven parts). Outcomes join to an impression: the
client reports views and clicks with the request id; matching's subscribers join messages (the student's first
text to the tutor), bookings (requested or instantly confirmed), completions, repeat bookings of a completed tutor
within REPEAT_DAYS, and the student's rating (reviews' ``review.submitted``) to the student's latest impression of
that tutor within ATTRIBUTION_DAYS, or through the booking id. Matching writes only its own tables.

Model: logistic regression (scikit-learn) of "booked" on the seven parts plus the position shown (log2(1 + rank),
an interaction feature that soaks up position bias and is dropped when serving). The model is linear in the parts,
so its coefficients, clipped at zero and normalised to sum 1, are plain weights: the candidate statement's exact
top-k bound (services.match) holds unchanged, and the explanations show each part's weight * value. Gradient-
boosted trees would need a rerank of the bound's top N (recall lost past N); the simulator's evaluation
(bench/README.md) shows the linear model recovers the hidden preference direction, so it is kept.

Position bias: a share of responses (MATCH_EXPLORE_RATE) is shown in a random order; training carries the position
as a feature, and the evaluation divides gains by the examination propensity of their rank (estimated on the
randomised requests) and by default judges on the randomised held-out requests.

Cold start: a tutor's score gets MATCH_COLD_BOOST * 0.5 ** (impressions / MATCH_COLD_HALF_LIFE) on top, none after
COLD_HALF_LIVES half-lives; the candidate statement counts each returned tutor's impressions up to there (an
additive part with its own bound: no tutor's boost exceeds MATCH_COLD_BOOST, so the ceiling of the tutors not read
yet grows by it and the top stays exact, at the cost of reading more rows while the boost is large). New students
(fewer than MATCH_NEW_STUDENT_REQUESTS requests) get the fixed weights whatever their arm.
"""
import hashlib
import math
import secrets
import threading
import time
from datetime import timedelta

import numpy as np
import sqlalchemy as sa
from flask import current_app

from app.common.errors import Invalid, NotFound
from app.common.events import publish
from app.common.time import utcnow
from app.extensions import db
from app.matching.models import MatchImpression, MatchModel, MatchOutcome, MatchRequestLog, MatchSetting
from app.matching.queries import insert_match_log
from app.matching.weights import PARTS

ARMS = ("fixed", "learned")
CLIENT_EVENTS = ("viewed", "clicked")
OUTCOMES = ("viewed", "clicked", "messaged", "booked", "completed", "repeat", "rated")
# Graded relevance of an impression for NDCG: its best outcome.
GAINS = {"viewed": 1, "clicked": 1, "messaged": 2, "booked": 3, "completed": 4, "good": 5}  # linear gains
ATTRIBUTION_DAYS = 30
REPEAT_DAYS = 60
MIN_TRAINING_IMPRESSIONS = 50
MIN_TRAINING_POSITIVES = 5
FEATURES = (*PARTS, "position")


# --- arms and the model cache ----------------------------------------------------------------------------------

def unit_hash(student_id):
    """A stable number in [0, 1) for a student (the same in every process and release)."""
    digest = hashlib.sha256(f"matching-ab:{student_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2 ** 64


def learned_share():
    row = db.session.get(MatchSetting, 1)
    return row.learned_share if row is not None else float(current_app.config["MATCH_LEARNED_SHARE"])


def set_learned_share(share):
    """The admin's switch: the share of students (by stable hash) served by the learned arm. Once committed,
    ``matching.share_changed`` refreshes this process's cache; other processes follow within the model TTL."""
    if not 0.0 <= share <= 1.0:
        raise Invalid("The share must be between 0 and 1.", errors={"learned_share": ["Between 0 and 1."]})
    row = db.session.get(MatchSetting, 1) or MatchSetting(id=1)
    row.learned_share = float(share)
    db.session.add(row)
    publish("matching.share_changed", learned_share=float(share))
    return row


def assign_arm(student_id, share=None):
    share = learned_share() if share is None else share
    return "learned" if unit_hash(student_id) < share else "fixed"


_model_cache = {"at": None, "model": None, "share": None, "loading": False}
_model_lock = threading.Lock()


def cached_model():
    """The newest trained model as {version, weights}, or None; never reads the database on the request's path:
    a stale or empty cache is refreshed in a background thread (inline when JOBS_ASYNC is off, as in tests)."""
    _refresh_if_stale()
    return _model_cache["model"]


def cached_share():
    """The learned arm's share, cached with the model (read inline only while this process has none yet)."""
    _refresh_if_stale()
    share = _model_cache["share"]
    return learned_share() if share is None else share


def _refresh_if_stale():
    stale = _model_cache["at"] is None or time.monotonic() - _model_cache["at"] > current_app.config[
        "MATCH_MODEL_TTL_SECONDS"]
    if stale:
        _start_refresh()


def _start_refresh():
    with _model_lock:
        if _model_cache["loading"]:
            return
        _model_cache["loading"] = True
    if not current_app.config.get("JOBS_ASYNC"):
        refresh_model()
        return
    app = current_app._get_current_object()

    def load():
        with app.app_context():
            try:
                refresh_model()
            except Exception:  # noqa: BLE001 (a failed refresh keeps the cached model; the next request retries)
                app.logger.exception("matching: loading the learned model failed")
                _model_cache["loading"] = False
            finally:
                db.session.remove()

    threading.Thread(target=load, name="matching-model-load", daemon=True).start()


def refresh_model():
    """Read the newest model and the learned share into this process's cache (also the subscriber of
    ``matching.model_trained`` and ``matching.share_changed``)."""
    row = db.session.scalar(sa.select(MatchModel).order_by(MatchModel.version.desc()).limit(1))
    model = None if row is None else {"version": row.version, "weights": {p: float(row.weights[p]) for p in PARTS}}
    _model_cache.update(model=model, share=learned_share(), at=time.monotonic(), loading=False)
    return model


def clear_model_cache():
    _model_cache.update(model=None, share=None, at=None, loading=False)


def serving_weights(student_id, fixed):
    """(arm, weights, model version) for a request (the arm from the cached share): the learned arm's students with at least
    MATCH_NEW_STUDENT_REQUESTS earlier requests get the newest model; everyone else (and all while no model
    exists) the fixed weights."""
    arm = assign_arm(student_id, cached_share())
    if arm == "fixed":
        return arm, fixed, None
    model = cached_model()
    if model is None or _is_new_student(student_id):
        return arm, fixed, None
    return arm, model["weights"], model["version"]


def _is_new_student(student_id):
    needed = int(current_app.config["MATCH_NEW_STUDENT_REQUESTS"])
    if needed <= 0:
        return False
    earlier = sa.select(MatchRequestLog.id).where(MatchRequestLog.student_id == student_id).limit(needed).subquery()
    return db.session.scalar(sa.select(sa.func.count()).select_from(earlier)) < needed


# --- cold start -----------------------------------------------------------------------------------------------

COLD_HALF_LIVES = 10  # the boost ends after this many half-lives (at 1/1024 of MATCH_COLD_BOOST)


def cold_boost_settings():
    """(largest boost, impressions that halve it) from MATCH_COLD_BOOST and MATCH_COLD_HALF_LIFE."""
    return float(current_app.config["MATCH_COLD_BOOST"]), max(1, int(current_app.config["MATCH_COLD_HALF_LIFE"]))


def exposure_cap(half_life):
    """Impressions from which a tutor gets no boost: counting a tutor's impressions stops there."""
    return COLD_HALF_LIVES * half_life


def exposure_count(tutor_id):
    """A SQL scalar: the impressions of the tutor ``tutor_id`` (a column of an enclosing statement), counted up to
    the ``exposure_cap`` parameter, so a tutor shown a million times costs no more to count than one at the cap."""
    shown = (sa.select(sa.literal_column("1")).select_from(MatchImpression).where(MatchImpression.tutor_id == tutor_id)
             .limit(sa.bindparam("exposure_cap", type_=sa.Integer)).correlate_except(MatchImpression)
             .subquery("shown"))
    return sa.select(sa.func.count()).select_from(shown).scalar_subquery()


def cold_boost(impressions, boost, half_life):
    """The exploration boost of a tutor with ``impressions``: boost * 0.5 ** (impressions / half_life), none from
    exposure_cap(half_life) on."""
    if impressions >= exposure_cap(half_life):
        return 0.0
    return boost * 0.5 ** (impressions / half_life)


# --- the log --------------------------------------------------------------------------------------------------

def exploring(rng=None):
    """Whether this response is shown in a randomised order (MATCH_EXPLORE_RATE of them)."""
    rate = float(current_app.config["MATCH_EXPLORE_RATE"])
    return rate > 0 and (rng or secrets.SystemRandom()).random() < rate


def shuffled(matches, rng=None):
    order = list(matches)
    (rng or secrets.SystemRandom()).shuffle(order)
    return order


def request_features(request):
    """The compact request features kept with the log."""
    return {"subject": request["subject"], "level": request["level"], "mode": request["mode"],
            "location": request.get("location") is not None, "budget": bool(request.get("budget")),
            "styles": len(request.get("learning_styles") or ()), "times": len(request.get("preferred_times") or ())}


def log_response(student_id, features, matches, arm, model_version, explore, at=None):
    """Record a response: one request row and one impression per tutor shown (one statement on PostgreSQL, see
    queries.py); returns the request id."""
    request_id = secrets.token_hex(16)
    insert_match_log(
        {"id": request_id, "student_id": student_id, "created_at": at or utcnow(), "arm": arm,
         "model_version": model_version, "explore": explore, "features": features},
        [{"tutor_id": match["tutor_id"], "rank": rank, "score": match["score"],
          "parts": [round(match["parts"][name], 4) for name in PARTS]} for rank, match in enumerate(matches, start=1)])
    return request_id


def record_client_event(student_id, request_id, tutor_id, kind, at=None):
    """A view or click the client reports on a tutor of one of its own responses (404 for anyone else's)."""
    if kind not in CLIENT_EVENTS:
        raise Invalid("Unknown event kind.", errors={"kind": [f"One of: {', '.join(CLIENT_EVENTS)}."]})
    owner = db.session.scalar(sa.select(MatchRequestLog.student_id).where(MatchRequestLog.id == request_id))
    if owner is None or owner != student_id:
        raise NotFound("Match request not found.")
    if db.session.get(MatchImpression, (request_id, tutor_id)) is None:
        raise NotFound("This tutor was not in that match response.")
    return record_outcome(request_id, tutor_id, kind, at=at)


def record_outcome(request_id, tutor_id, kind, value=None, booking_id=None, at=None):
    """Add an outcome once (the first of a kind per impression stays)."""
    outcome = db.session.get(MatchOutcome, (request_id, tutor_id, kind))
    if outcome is None:
        outcome = MatchOutcome(request_id=request_id, tutor_id=tutor_id, kind=kind, value=value,
                               booking_id=booking_id, at=at or utcnow())
        db.session.add(outcome)
    return outcome


def _latest_impression(student_id, tutor_id, before):
    """The request id of the student's latest impression of the tutor within ATTRIBUTION_DAYS before ``before``."""
    return db.session.scalar(
        sa.select(MatchImpression.request_id).join(MatchRequestLog, MatchRequestLog.id == MatchImpression.request_id)
        .where(MatchRequestLog.student_id == student_id, MatchImpression.tutor_id == tutor_id,
               MatchRequestLog.created_at <= before,
               MatchRequestLog.created_at >= before - timedelta(days=ATTRIBUTION_DAYS))
        .order_by(MatchRequestLog.created_at.desc()).limit(1))


def _booked_outcome(booking_id):
    return db.session.scalar(sa.select(MatchOutcome).where(MatchOutcome.booking_id == booking_id,
                                                           MatchOutcome.kind == "booked"))


def join_booking_created(booking_id, student_id, tutor_id, at=None):
    """A booking (requested, or instantly confirmed): "booked" on the latest impression; a booking of a tutor whose
    session the student completed within REPEAT_DAYS adds "repeat" to the impression that led to that session."""
    at = at or utcnow()
    completed = db.session.scalar(
        sa.select(MatchOutcome).join(MatchRequestLog, MatchRequestLog.id == MatchOutcome.request_id)
        .where(MatchRequestLog.student_id == student_id, MatchOutcome.tutor_id == tutor_id,
               MatchOutcome.kind == "completed", MatchOutcome.at >= at - timedelta(days=REPEAT_DAYS))
        .order_by(MatchOutcome.at.desc()).limit(1))
    if completed is not None:
        record_outcome(completed.request_id, tutor_id, "repeat", booking_id=booking_id, at=at)
    request_id = _latest_impression(student_id, tutor_id, at)
    if request_id is not None:
        record_outcome(request_id, tutor_id, "booked", booking_id=booking_id, at=at)


def join_booking_completed(booking_id, at=None):
    booked = _booked_outcome(booking_id)
    if booked is not None:
        record_outcome(booked.request_id, booked.tutor_id, "completed", booking_id=booking_id, at=at)


def join_rating(booking_id, overall, at=None):
    booked = _booked_outcome(booking_id)
    if booked is not None:
        record_outcome(booked.request_id, booked.tutor_id, "rated", value=float(overall), booking_id=booking_id, at=at)


def join_message(sender_id, recipient_id, at=None):
    """The student's message to a tutor they were shown: "messaged" on the latest impression."""
    at = at or utcnow()
    request_id = _latest_impression(sender_id, recipient_id, at)
    if request_id is not None:
        record_outcome(request_id, recipient_id, "messaged", at=at)


def prune_log(now=None):
    """Delete the log older than MATCH_LOG_RETENTION_DAYS (outcomes, impressions, requests); returns requests."""
    cutoff = (now or utcnow()) - timedelta(days=int(current_app.config["MATCH_LOG_RETENTION_DAYS"]))
    old = sa.select(MatchRequestLog.id).where(MatchRequestLog.created_at < cutoff)
    db.session.execute(sa.delete(MatchOutcome).where(MatchOutcome.request_id.in_(old)))
    db.session.execute(sa.delete(MatchImpression).where(MatchImpression.request_id.in_(old)))
    return db.session.execute(sa.delete(MatchRequestLog).where(MatchRequestLog.created_at < cutoff)).rowcount


# --- training data ------------------------------------------------------------------------------------------

class Frame:
    """The log as arrays, one row per impression, ordered by request time."""

    def __init__(self, request_ids, times, explore, ranks, parts, outcomes):
        self.request_ids, self.times, self.explore = request_ids, times, explore
        self.ranks, self.parts, self.outcomes = ranks, parts, outcomes

    def __len__(self):
        return len(self.ranks)

    @property
    def booked(self):
        return self.outcomes["booked"]

    @property
    def good(self):
        """Completed and rated 4 or more."""
        return self.outcomes["completed"] & (self.outcomes["rating"] >= 4)

    def gains(self):
        gain = np.zeros(len(self), dtype=float)
        for kind in ("viewed", "clicked", "messaged", "booked", "completed"):
            gain = np.where(self.outcomes[kind], np.maximum(gain, GAINS[kind]), gain)
        return np.where(self.good, GAINS["good"], gain)

    def features(self, with_position=True):
        columns = [self.parts]
        if with_position:
            columns.append(np.log2(1.0 + self.ranks)[:, None])
        return np.hstack(columns)

    def take(self, mask):
        return Frame(self.request_ids[mask], self.times[mask], self.explore[mask], self.ranks[mask],
                     self.parts[mask], {name: values[mask] for name, values in self.outcomes.items()})


def load_frame(since=None, until=None):
    """The impressions (with their outcomes) of requests made in [since, until)."""
    conditions = []
    if since is not None:
        conditions.append(MatchRequestLog.created_at >= since)
    if until is not None:
        conditions.append(MatchRequestLog.created_at < until)
    rows = db.session.execute(
        sa.select(MatchImpression.request_id, MatchImpression.tutor_id, MatchImpression.rank, MatchImpression.parts,
                  MatchRequestLog.created_at, MatchRequestLog.explore)
        .join(MatchRequestLog, MatchRequestLog.id == MatchImpression.request_id).where(*conditions)
        .order_by(MatchRequestLog.created_at, MatchImpression.request_id, MatchImpression.rank)).all()
    index = {(row.request_id, row.tutor_id): i for i, row in enumerate(rows)}
    flags = {kind: np.zeros(len(rows), dtype=bool) for kind in OUTCOMES}
    rating = np.zeros(len(rows), dtype=float)
    outcome_rows = db.session.execute(
        sa.select(MatchOutcome.request_id, MatchOutcome.tutor_id, MatchOutcome.kind, MatchOutcome.value)
        .join(MatchRequestLog, MatchRequestLog.id == MatchOutcome.request_id).where(*conditions))
    for row in outcome_rows:
        i = index.get((row.request_id, row.tutor_id))
        if i is None or row.kind not in flags:
            continue
        flags[row.kind][i] = True
        if row.kind == "rated" and row.value is not None:
            rating[i] = row.value
    outcomes = {**flags, "rating": rating}
    return Frame(np.array([row.request_id for row in rows], dtype=object),
                 np.array([row.created_at.timestamp() for row in rows], dtype=float),
                 np.array([bool(row.explore) for row in rows], dtype=bool),
                 np.array([row.rank for row in rows], dtype=float),
                 np.array([row.parts for row in rows], dtype=float).reshape(len(rows), len(PARTS)), outcomes)


def time_split(frame, train_share=0.8):
    """(train, test): the earliest ``train_share`` of the requests, and the rest (whole requests on each side)."""
    requests = list(dict.fromkeys(frame.request_ids))
    cut = int(len(requests) * train_share)
    test_ids = set(requests[cut:])
    in_test = np.array([request_id in test_ids for request_id in frame.request_ids], dtype=bool)
    return frame.take(~in_test), frame.take(in_test)


# --- the model ----------------------------------------------------------------------------------------------

def fit(frame, with_position=True, label="booked"):
    """Logistic regression of the label on the parts (+ position); returns (part weights, raw coefficients).

    Weights are the parts' coefficients clipped at zero and normalised to sum 1: the score stays a weighted mean
    in [0, 1] and the exact bound needs weights >= 0 (a part's fit never lowers the score)."""
    from sklearn.linear_model import LogisticRegression

    y = frame.booked if label == "booked" else frame.good
    if len(frame) < MIN_TRAINING_IMPRESSIONS or y.sum() < MIN_TRAINING_POSITIVES or y.all():
        raise Invalid(f"Not enough outcomes to train: {len(frame)} impressions, {int(y.sum())} positives "
                      f"(at least {MIN_TRAINING_IMPRESSIONS} and {MIN_TRAINING_POSITIVES}).")
    model = LogisticRegression(C=10.0, max_iter=1000)
    model.fit(frame.features(with_position), y)
    coefficients = dict(zip(FEATURES if with_position else PARTS, (float(c) for c in model.coef_[0]), strict=True))
    clipped = {name: max(coefficients[name], 0.0) for name in PARTS}
    total = sum(clipped.values())
    if total <= 0:
        raise Invalid("The trained model gives no part a positive weight; the fixed weights stay.")
    return {name: value / total for name, value in clipped.items()}, coefficients


def train(now=None):
    """Fit on the log (held-out metrics from a time split, then the final fit on everything) and store a new
    model version; publishes ``matching.model_trained``."""
    frame = load_frame()
    train_part, test_part = time_split(frame)
    held_out_weights, _ = fit(train_part)
    metrics = {"held_out": _metric_points(test_part, held_out_weights, position_propensities(train_part)),
               "impressions": len(frame), "positives": int(frame.booked.sum())}
    weights, coefficients = fit(frame)
    metrics["coefficients"] = coefficients
    version = (db.session.scalar(sa.select(sa.func.max(MatchModel.version))) or 0) + 1
    row = MatchModel(version=version, kind="logistic_regression", features=list(FEATURES), weights=weights,
                     metrics=metrics, trained_on=len(frame), created_at=now or utcnow())
    db.session.add(row)
    db.session.flush()
    publish("matching.model_trained", version=version, weights=weights)
    return row


def models_query():
    return sa.select(MatchModel).order_by(MatchModel.version.desc())


# --- evaluation ---------------------------------------------------------------------------------------------
#
# Offline, both arms re-rank the tutors each held-out request showed and are judged on what the student did. What
# the student did depends on where a tutor was shown (lower ranks are examined less), and outside the randomised
# requests the shown order is the fixed weights' own: taken at face value, that favours the fixed weights. So each
# impression's gain is divided by its rank's examination propensity (inverse propensity weighting), estimated on
# the randomised requests of the training part, where rank is independent of the tutor: the engagement rate at
# rank r over the rate at rank 1.

MIN_RANDOMISED_REQUESTS = 20
MIN_PROPENSITY = 0.05


def position_propensities(frame):
    """{rank: examination propensity} from the randomised requests of ``frame`` (all 1 with too few of them)."""
    randomised = frame.take(frame.explore)
    ranks = sorted({int(rank) for rank in frame.ranks})
    if len(set(randomised.request_ids)) < MIN_RANDOMISED_REQUESTS:
        return dict.fromkeys(ranks, 1.0)
    engaged = randomised.gains() > 0
    rate = {rank: engaged[randomised.ranks == rank].mean() if (randomised.ranks == rank).any() else None
            for rank in ranks}
    top = rate.get(1) or max((value for value in rate.values() if value), default=0.0)
    if not top:
        return dict.fromkeys(ranks, 1.0)
    return {rank: 1.0 if value is None else min(1.0, max(MIN_PROPENSITY, value / top)) for rank, value in rate.items()}


def _weights_of(frame, propensities):
    return np.array([1.0 / propensities.get(int(rank), 1.0) for rank in frame.ranks])


def _groups(request_ids):
    """Row indices of each request, in order of first appearance."""
    groups = {}
    for i, request_id in enumerate(request_ids):
        groups.setdefault(request_id, []).append(i)
    return [np.array(indices) for indices in groups.values()]


def ndcg_at(gains, scores, k=10):
    """NDCG@k with linear gains (they may be propensity-weighted), ties by position in the input."""
    order = np.lexsort((np.arange(len(scores)), -scores))[:k]
    discounts = 1.0 / np.log2(np.arange(2, len(order) + 2))
    dcg = float((gains[order] * discounts).sum())
    ideal = np.sort(gains)[::-1][:k]
    idcg = float((ideal * discounts[:len(ideal)]).sum())
    return dcg / idcg if idcg > 0 else None


def average_precision(relevant, scores, weights=None):
    """Average precision; with ``weights`` each relevant item counts its weight (propensity-weighted)."""
    if not relevant.any():
        return None
    weights = np.ones(len(scores)) if weights is None else weights
    order = np.lexsort((np.arange(len(scores)), -scores))
    hits = relevant[order] * weights[order]
    precision = np.cumsum(hits) / np.cumsum(np.where(relevant[order], weights[order], 1.0))
    return float((precision * hits).sum() / hits.sum())


def auc(labels, scores, weights=None):
    """Area under the ROC curve (ties count half; optional sample weights), None without both classes."""
    labels = np.asarray(labels, dtype=bool)
    if labels.all() or not labels.any():
        return None
    weights = np.ones(len(scores)) if weights is None else np.asarray(weights, dtype=float)
    _unique, inverse = np.unique(scores, return_inverse=True)
    positive = np.bincount(inverse, weights=weights * labels)
    negative = np.bincount(inverse, weights=weights * ~labels)
    area = float((positive * (np.cumsum(negative) - negative / 2.0)).sum())
    return float(area / (weights[labels].sum() * weights[~labels].sum()))


def score_with(frame, weights):
    vector = np.array([weights[name] for name in PARTS], dtype=float)
    return frame.parts @ vector / (vector.sum() or 1.0)


def _per_request(frame, scores, groups, ipw):
    gains = frame.gains() * ipw
    ndcg = np.array([np.nan if (v := ndcg_at(gains[g], scores[g])) is None else v for g in groups])
    ap = np.array([np.nan if (v := average_precision(frame.booked[g], scores[g], ipw[g])) is None else v
                   for g in groups])
    return ndcg, ap


def _metric_points(frame, weights, propensities=None):
    groups = _groups(frame.request_ids)
    ipw = _weights_of(frame, propensities or {})
    scores = score_with(frame, weights)
    ndcg, ap = _per_request(frame, scores, groups, ipw)
    return {"ndcg@10": _nanmean(ndcg), "map": _nanmean(ap),
            "auc_booked": auc(frame.booked, scores, np.where(frame.booked, ipw, 1.0)),
            "auc_good": auc(frame.good, scores, np.where(frame.good, ipw, 1.0))}


def _nanmean(values):
    values = values[~np.isnan(values)]
    return float(values.mean()) if len(values) else None


METRICS = ("ndcg@10", "map", "auc_booked", "auc_good")


def evaluate(fixed_weights, frame=None, train_share=0.8, resamples=500, seed=0, learned_weights=None,
             randomised=True):
    """Fixed vs learned on the held-out (latest) requests, with bootstrap 95% intervals (requests resampled) of
    each metric and of the difference learned - fixed; gains propensity-weighted (see above). The learned weights
    are fitted on the earlier requests unless given. ``randomised``: judge on the randomised requests only."""
    frame = load_frame() if frame is None else frame
    train_part, test_part = time_split(frame, train_share)
    if learned_weights is None:
        learned_weights, coefficients = fit(train_part)
    else:
        coefficients = None
    propensities = position_propensities(train_part)
    if randomised:
        test_part = test_part.take(test_part.explore)
    groups = _groups(test_part.request_ids)
    if not groups:
        raise Invalid("No held-out requests to evaluate" + (" (none shown in a random order)." if randomised
                                                            else "."))
    ipw = _weights_of(test_part, propensities)
    arms = {"fixed": fixed_weights, "learned": learned_weights}
    scores = {arm: score_with(test_part, weights) for arm, weights in arms.items()}
    per_request = {arm: _per_request(test_part, scores[arm], groups, ipw) for arm in arms}
    rng = np.random.default_rng(seed)
    draws = [rng.integers(0, len(groups), len(groups)) for _ in range(resamples)]
    result = {"requests": {"train": len(set(train_part.request_ids)), "test": len(groups)}, "randomised": randomised,
              "propensities": {str(rank): round(value, 3) for rank, value in propensities.items()},
              "weights": arms, "coefficients": coefficients, "metrics": {}}
    for metric in METRICS:
        values = {arm: _metric(metric, test_part, scores[arm], per_request[arm], groups, ipw) for arm in arms}
        samples = {arm: [] for arm in arms}
        for draw in draws:
            for arm in arms:
                samples[arm].append(_metric(metric, test_part, scores[arm], per_request[arm], groups, ipw, draw))
        diff = [b - a for a, b in zip(samples["fixed"], samples["learned"], strict=True)
                if a is not None and b is not None]
        result["metrics"][metric] = {
            **{arm: {"value": values[arm], **_interval(samples[arm])} for arm in arms},
            "difference": {"value": None if None in values.values() else values["learned"] - values["fixed"],
                           **_interval(diff)}}
    return result


def _metric(metric, frame, scores, per_request, groups, ipw, draw=None):
    ndcg, ap = per_request
    if metric in ("ndcg@10", "map"):
        values = ndcg if metric == "ndcg@10" else ap
        return _nanmean(values if draw is None else values[draw])
    rows = np.arange(len(frame)) if draw is None else np.concatenate([groups[i] for i in draw])
    labels = frame.booked if metric == "auc_booked" else frame.good
    return auc(labels[rows], scores[rows], np.where(labels, ipw, 1.0)[rows])


def _interval(samples):
    samples = [value for value in samples if value is not None and not math.isnan(value)]
    if not samples:
        return {"low": None, "high": None}
    low, high = np.percentile(samples, [2.5, 97.5])
    return {"low": float(low), "high": float(high)}


# --- per-arm metrics ------------------------------------------------------------------------------------------

def arm_metrics(since, until):
    """Per arm over requests made in [since, until): requests, impressions, and the rate of each outcome per
    impression (views, messages, bookings, completions, repeats) plus the mean rating."""
    counts = db.session.execute(
        sa.select(MatchRequestLog.arm, sa.func.count(sa.distinct(MatchRequestLog.id)), sa.func.count())
        .join(MatchImpression, MatchImpression.request_id == MatchRequestLog.id)
        .where(MatchRequestLog.created_at >= since, MatchRequestLog.created_at < until)
        .group_by(MatchRequestLog.arm)).all()
    outcomes = db.session.execute(
        sa.select(MatchRequestLog.arm, MatchOutcome.kind, sa.func.count(), sa.func.avg(MatchOutcome.value))
        .join(MatchOutcome, MatchOutcome.request_id == MatchRequestLog.id)
        .where(MatchRequestLog.created_at >= since, MatchRequestLog.created_at < until)
        .group_by(MatchRequestLog.arm, MatchOutcome.kind)).all()
    arms = {arm: {"arm": arm, "requests": 0, "impressions": 0, "rates": {kind: 0.0 for kind in OUTCOMES},
                  "mean_rating": None} for arm in ARMS}
    for arm, requests, impressions in counts:
        arms[arm].update(requests=requests, impressions=impressions)
    for arm, kind, count, mean_value in outcomes:
        entry = arms[arm]
        if entry["impressions"]:
            entry["rates"][kind] = round(count / entry["impressions"], 4)
        if kind == "rated" and mean_value is not None:
            entry["mean_rating"] = round(float(mean_value), 2)
    return [arms[arm] for arm in ARMS]
