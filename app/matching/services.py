"""Matching (the exact top of scoring every eligible tutor, with a bound computed in SQL) and the public face of
the matching domain: tutor search (``search``), learned weights (``weights``) and blocked tutors.

The score (one definition, _score_parts, weights from weights.py) is the weighted mean of seven parts. Five of
them (expertise, rating, price fit, distance, style fit: SQL_PARTS) depend only on the tutor's profile and the
request; migration 0012 copies the profile columns they need onto each tutor_subjects row (kept by triggers), so
the candidate statement (eligible_rows_statement) computes, for every eligible row of the subject, ``bound`` = the
weighted sum of those five parts, exactly as _score_parts does, except the distance of an in-person tutor outside
the 100 km box, given its upper bound (radius / 100 km). On PostgreSQL the subject's rows (within the budget's
currency and maximum rate) are one index-only scan of the covering index ix_tutor_subjects_match.

Hard filters: listed (active account, tutor role), not the student, not blocked by the student, mode (online
tutors; in-person tutors within IN_PERSON_MAX_KM; both: either), budget (currency, rate <= max).

The statement returns the ``fetch`` rows with the best bound (ties by tutor id) and every row of the student's
own tutors (scheduling's session history, at most HISTORY_CANDIDATE_LIMIT), with their card columns. Python scores
those tutors on all seven parts (availability and history from scheduling's services). A tutor not returned scores
at most the last row's bound plus the most availability and history can add to it (nothing when the history is
complete and no preferred times are given); when the ``limit``-th score beats that ceiling (after rounding to 4
places, ties go to the lower id), the top is the exhaustive one; otherwise the statement runs again with four
times the rows. Tests compare it with scoring every eligible tutor, and the SQL bound with _score_parts. One
exception: with preferred times, availability (a slot computation per tutor) is judged for at most
AVAILABILITY_CANDIDATE_LIMIT tutors, best bound first; if the ceiling still is not beaten there, those are ranked.

The statement is built once per request shape (mode, location, bounding-box kind, budget, history) with bind
parameters for every value (weights included), so psycopg prepares it; the view's unit of work ends the read-only
transaction with COMMIT, which keeps it prepared.
"""
import functools
import json
import math

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from app.common.errors import Invalid, NotFound
from app.common.money import format_money
from app.extensions import db
from app.matching import learning
from app.matching.models import StudentBlock
from app.matching.search import (  # noqa: F401  (search_page is re-exported for the view)
    CARD_COLUMNS,
    MODE_OFFERS,
    TutorCard,
    bounding_box_bounds,
    bounding_box_condition,
    distance_km,
    haversine_km_sql,
    ids_param,
    is_postgres,
    json_array_contains,
    search_page,
    subjects_of,
)
from app.matching.weights import clear_cache as clear_weights_cache  # noqa: F401  (re-exported)
from app.matching.weights import current_weights, set_weights  # noqa: F401  (re-exported)
from app.scheduling import services as scheduling
from app.tutors.models import LEVELS, TutorProfile, TutorSubject
from app.tutors.services import public_profile, subject_by_slug
from app.users.models import LEARNING_STYLES, User

FETCH_ROWS = 30  # rows read per candidate statement at first (at least 2 * limit); 4x more while not provably exact
BOUND_SLACK = 1e-9  # float rounding between the bound computed in SQL and the score computed here
# With preferred times availability is a slot computation per tutor: it is asked about at most this many tutors
# (best bound first), so there the top is exact over them, not proven exact over every eligible tutor.
AVAILABILITY_CANDIDATE_LIMIT = 200
HISTORY_CANDIDATE_LIMIT = 50
IN_PERSON_MAX_KM = 100.0
DEFAULT_TRAVEL_RADIUS_KM = 10
NEUTRAL = 0.5
HISTORY_SATURATION = 3
EXPERIENCE_SATURATION = 10


def block_tutor(student, tutor_id):
    """The tutor never appears in the student's matches again (idempotent)."""
    if tutor_id == student.id:
        raise Invalid("You cannot block yourself.")
    public_profile(tutor_id)
    if db.session.get(StudentBlock, (student.id, tutor_id)) is None:
        db.session.add(StudentBlock(student_id=student.id, tutor_id=tutor_id))


def unblock_tutor(student, tutor_id):
    block = db.session.get(StudentBlock, (student.id, tutor_id))
    if block is None:
        raise NotFound("You have not blocked this tutor.")
    db.session.delete(block)


_CANDIDATE_STATEMENTS = {}


def candidate_statement(shape):
    """The candidate statement for a request shape, built once per process with bind parameters for every value
    (see candidate_params), so a request neither rebuilds nor recompiles it and PostgreSQL sees the same SQL text.

    ``shape``: (dialect, mode, has location, bounding-box longitude kind, has budget, has history, has exposure).
    """
    statement = _CANDIDATE_STATEMENTS.get(shape)
    if statement is None:
        statement = _CANDIDATE_STATEMENTS.setdefault(shape, candidate_rows_statement(*shape[1:]))
    return statement


def level_fit(level, wanted):
    """The expertise part's level term: 1 at the requested level, 0.8 above it, 0.4 below it."""
    if level == wanted:
        return 1.0
    return 0.8 if LEVELS.index(level) > LEVELS.index(wanted) else 0.4


def candidate_params(student, request, subject_id, weights, fetch, history_ids=(), exposure_cap=None):
    """(shape, parameters) of the candidate statement for this request; ``fetch`` rows are read best bound first;
    with ``exposure_cap`` each row carries its tutor's impressions counted up to it (``shown``, the cold start)."""
    mode, budget = request["mode"], request.get("budget")
    location = request.get("location") if mode != "online" else None
    styles = _request_styles(student, request)
    params = {"subject_id": subject_id, "student_id": student.id, "level": request["level"],
              "level_rank": LEVELS.index(request["level"]), "fetch": fetch,
              **{f"w_{name}": float(weights[name]) for name in SQL_PARTS}}
    # style_fit = style_base + sum of style_<s> over the vocabulary styles the tutor teaches (see _style_fit).
    params["style_base"] = NEUTRAL if not styles else len(styles - set(LEARNING_STYLES)) / len(styles)
    params.update({f"style_{name}": (1.0 / len(styles) if name in styles else 0.0) for name in LEARNING_STYLES})
    lon_kind = None
    if location is not None:
        lat, lon = location["lat"], location["lon"]
        lat_low, lat_high, lon_kind, lon_low, lon_high = bounding_box_bounds(lat, lon, IN_PERSON_MAX_KM)
        lat_rad = math.radians(lat)
        params.update(lat_rad=lat_rad, lon_rad=math.radians(lon), cos_lat=math.cos(lat_rad), lat_low=lat_low,
                      lat_high=lat_high, max_km=IN_PERSON_MAX_KM)
        if lon_kind is not None:
            params.update(lon_low=lon_low, lon_high=lon_high)
    if budget:
        params.update(currency=budget["currency"], max_rate=budget["max_rate_cents"],
                      price_slope=0.5 / max(budget["max_rate_cents"], 1))
    if history_ids:
        params["history_ids"] = list(history_ids)
    if exposure_cap:
        params["exposure_cap"] = exposure_cap
    shape = (db.engine.dialect.name, mode, location is not None, lon_kind, bool(budget), bool(history_ids),
             bool(exposure_cap))
    return shape, params


# The parts the candidate statement computes exactly (the others, availability and history, are bounded in Python).
SQL_PARTS = ("expertise", "rating", "price_fit", "distance", "style_fit")


def _float(name):
    return sa.bindparam(name, type_=sa.Float)


def eligible_rows_statement(mode, has_location, lon_kind, has_budget, history=False):
    """Eligible rows of tutor_subjects for the request with ``bound``: the weighted sum of the SQL_PARTS, computed
    from the profile copies on the row (migration 0012) exactly as _score_parts computes them, except the distance
    of an in-person tutor outside the 100 km box, given its upper bound (a bound is enough: see match()).

    Hard filters: listed, not the student, not blocked by the student, mode (online tutors; in-person tutors within
    IN_PERSON_MAX_KM; both: either), budget (currency, rate <= max). On PostgreSQL the rows of a subject (and
    currency, up to the budget) are one index-only scan of ix_tutor_subjects_match.
    ``history``: only the rows of the tutors in the ``history_ids`` parameter (probed by primary key).
    """
    ts = TutorSubject
    in_person = ts.mode.in_(MODE_OFFERS["in_person"])
    inner_columns = [ts.tutor_id, ts.level, ts.mode, ts.rate_cents, ts.verified, ts.years_experience, ts.rating,
                     ts.teaching_styles, ts.travel_radius_km, ts.latitude]
    if has_location:
        lon_bounds = (_float("lon_low"), _float("lon_high")) if lon_kind else (None, None)
        box = bounding_box_condition(_float("lat_low"), _float("lat_high"), lon_kind, *lon_bounds,
                                     lat_col=ts.latitude, lon_col=ts.longitude)
        km = haversine_km_sql(_float("lat_rad"), _float("lon_rad"), _float("cos_lat"), ts.latitude, ts.longitude)
        # The distance only inside the box (every tutor within IN_PERSON_MAX_KM is in it): one haversine per nearby
        # in-person tutor, not one per in-person tutor of the subject.
        inner_columns.append(sa.case((sa.and_(in_person, box), km)).label("near_km"))
    blocked = sa.select(StudentBlock.tutor_id).where(StudentBlock.student_id == sa.bindparam("student_id"),
                                                     StudentBlock.tutor_id == ts.tutor_id).exists()
    where = [ts.subject_id == sa.bindparam("subject_id"), ts.listed, ts.tutor_id != sa.bindparam("student_id"),
             ~blocked]
    if history:
        where.append(ids_param(ts.tutor_id, "history_ids"))
    if has_budget:
        where += [ts.currency == sa.bindparam("currency"), ts.rate_cents <= sa.bindparam("max_rate")]
    # OFFSET 0 keeps the subquery (PostgreSQL would otherwise inline near_km, computing it in every reference).
    rows = sa.select(*inner_columns).where(*where).offset(0).subquery("eligible")

    online = rows.c.mode.in_(MODE_OFFERS["online"])
    if has_location:
        nearby = rows.c.near_km <= _float("max_km")
        mode_condition = nearby if mode == "in_person" else sa.or_(online, nearby)
        radius = sa.func.coalesce(rows.c.travel_radius_km, DEFAULT_TRAVEL_RADIUS_KM)
        far_bound = sa.func.least if is_postgres() else sa.func.min
        close_fit = sa.func.greatest if is_postgres() else sa.func.max
        distance = sa.case(
            (sa.or_(rows.c.mode.not_in(MODE_OFFERS["in_person"]), rows.c.latitude.is_(None)), NEUTRAL),
            # Outside the box the tutor is more than IN_PERSON_MAX_KM away: fit <= radius / IN_PERSON_MAX_KM.
            (rows.c.near_km.is_(None), far_bound(radius * (1.0 / IN_PERSON_MAX_KM), 1.0)),
            (rows.c.near_km <= radius, 1.0),
            else_=close_fit(0.0, 1.0 - (rows.c.near_km - radius) * (1.0 / IN_PERSON_MAX_KM)))
    else:
        mode_condition = online
        distance = sa.literal(NEUTRAL, sa.Float)
    level_rank = sa.case({name: rank for rank, name in enumerate(LEVELS)}, value=rows.c.level)
    fit = sa.case((rows.c.level == sa.bindparam("level"), 1.0), (level_rank > sa.bindparam("level_rank"), 0.8),
                  else_=0.4)
    years = (sa.func.least if is_postgres() else sa.func.min)(rows.c.years_experience, EXPERIENCE_SATURATION)
    expertise = (0.5 * fit + sa.case((rows.c.verified, 0.25), else_=0.0)
                 + years * (0.25 / EXPERIENCE_SATURATION))
    rating = sa.case((rows.c.rating.is_(None), NEUTRAL), else_=rows.c.rating * 0.2)
    price = (1.0 - rows.c.rate_cents * _float("price_slope")) if has_budget else sa.literal(NEUTRAL, sa.Float)
    style = _float("style_base")
    for name in LEARNING_STYLES:
        style = style + sa.case((_teaches_style(rows.c.teaching_styles, name), _float(f"style_{name}")), else_=0.0)
    bound = (_float("w_expertise") * expertise + _float("w_rating") * rating + _float("w_price_fit") * price
             + _float("w_distance") * distance + _float("w_style_fit") * style)
    return sa.select(rows.c.tutor_id, rows.c.level, bound.label("bound")).where(mode_condition)


def _teaches_style(column, name):
    if is_postgres():
        return sa.type_coerce(column, JSONB).has_key(name)
    return json_array_contains(column, name)


def candidate_rows_statement(mode, has_location, lon_kind, has_budget, has_history, has_exposure=False):
    """The ``fetch`` eligible rows with the best bound (ties by tutor id) and the rows of the student's own tutors
    (history stream, whatever their bound), each with the tutor's card columns: rows (stream, bound, level, card),
    plus ``shown`` (the tutor's impressions up to the exposure cap, learning.exposure_count) with ``has_exposure``.
    """
    eligible = eligible_rows_statement(mode, has_location, lon_kind, has_budget).subquery("scored")
    best = (sa.select(sa.literal("top").label("stream"), eligible)
            .order_by(eligible.c.bound.desc(), eligible.c.tutor_id).limit(sa.bindparam("fetch", type_=sa.Integer)))
    streams = [sa.select(best.subquery())]
    if has_history:
        history = eligible_rows_statement(mode, has_location, lon_kind, has_budget, history=True).subquery("known")
        streams.append(sa.select(sa.literal("history").label("stream"), history))
    walk = sa.union_all(*streams).subquery("walk") if len(streams) > 1 else streams[0].subquery("walk")
    # The JSON lists as text, decoded once per distinct value (_json_list) rather than per row by the driver.
    columns = [sa.cast(column, sa.Text).label(column.key) if column.key in JSON_CARD_COLUMNS else column
               for column in CARD_COLUMNS]
    if has_exposure:
        columns.append(learning.exposure_count(walk.c.tutor_id).label("shown"))
    return (sa.select(walk.c.stream, walk.c.bound, walk.c.level, *columns).select_from(walk)
            .join(TutorProfile, TutorProfile.user_id == walk.c.tutor_id).join(User, User.id == TutorProfile.user_id))


def candidate_rows_query(student, request, subject_id, weights, fetch, history_ids=(), exposure_cap=None):
    """The candidate statement of a request with its values bound (for EXPLAIN in bench/search.py)."""
    shape, params = candidate_params(student, request, subject_id, weights, fetch, history_ids, exposure_cap)
    return candidate_statement(shape).params(params)


def _request_styles(student, request):
    return set(request.get("learning_styles") or student.learning_styles or [])


JSON_CARD_COLUMNS = ("languages", "teaching_styles")


@functools.lru_cache(maxsize=4096)
def _json_list(text):
    """A JSON list column's text as a tuple (immutable: one decoded value is shared by every card that has it)."""
    return tuple(json.loads(text))


@functools.lru_cache(maxsize=4096)
def _style_set(styles):
    return frozenset(styles)


def _require_location(request):
    """In-person matching needs the student's location (a 422 before any query)."""
    if request["mode"] == "in_person" and request.get("location") is None:
        raise Invalid("In-person matching needs your location.", errors={"location": ["Required for in_person."]})


def match(student, request, limit=10):
    """POST /matches: the student's arm picks the weights (learning.serving_weights: the fixed weights, or the
    newest learned model's), rank() finds the exact top, and the response is logged (learning.log_response) under
    the request id it returns. A share of responses (MATCH_EXPLORE_RATE) is shown in a random order."""
    arm, weights, version = learning.serving_weights(student.id, current_weights())
    result = rank(student, request, limit=limit, weights=weights)
    explore = learning.exploring()
    if explore:
        result["matches"] = learning.shuffled(result["matches"])
    logged = [{"tutor_id": item["tutor"].id, "score": item["score"], "parts": item["parts"]}
              for item in result["matches"]]
    result["request_id"] = learning.log_response(student.id, learning.request_features(request), logged, arm,
                                                 version, explore)
    result.update(arm=arm, model_version=version, explore=explore)
    return result


def rank(student, request, limit=10, weights=None):
    """Ranked tutors with score, parts and reasons; ties broken by tutor id, so equal inputs give equal output.

    Exact: the top ``limit`` of scoring every eligible tutor. The candidate statement returns the ``fetch`` rows
    with the best bound (all parts but availability and history, see eligible_rows_statement) plus the student's
    own tutors; they are scored here. A tutor not returned scores at most the last row's bound plus the most
    availability and history can add (``_Candidates.unseen_extra``); while that ceiling could still reach the top,
    the statement is run again for more rows.
    """
    weights = current_weights() if weights is None else weights
    subject = subject_by_slug(request["subject"])
    _require_location(request)
    known = scheduling.tutors_with_completed_sessions(student.id, HISTORY_CANDIDATE_LIMIT)
    windows = [(w["start"], w["end"]) for w in request.get("preferred_times") or []]
    candidates = _Candidates(student, request, weights, known, windows)
    fetch = max(FETCH_ROWS, 2 * limit)
    while True:
        shape, params = candidate_params(student, request, subject.id, weights, fetch, list(known),
                                         candidates.exposure_cap)
        rows = db.session.execute(candidate_statement(shape), params).all()
        candidates.add(rows)
        if candidates.settled(rows, fetch, limit):
            break
        fetch = min(fetch * 4, AVAILABILITY_CANDIDATE_LIMIT) if candidates.judged else fetch * 4
    return {"matches": candidates.results(limit), "weights": weights,
            "candidates_considered": len(candidates.scored)}


class _Candidates:
    """The tutors read so far for one request, with what scores them: card, best level fit, completed sessions,
    availability, and (score, parts)."""

    def __init__(self, student, request, weights, known, windows):
        self.student_id, self.request, self.weights, self.windows = student.id, request, weights, windows
        self.known = known  # {tutor_id: completed sessions} of the student's tutors, most first
        self.complete = len(known) < HISTORY_CANDIDATE_LIMIT  # a tutor missing from ``known`` has no session
        self.styles = _request_styles(student, request)
        self.total_weight = sum(weights.values()) or 1.0
        self.judged = bool(windows)  # without preferred times every tutor's availability is neutral
        # The most availability and history can add to a tutor not read yet (none outside a complete history).
        self.unseen_extra = (max(weights["availability"], 0.0) if self.judged else weights["availability"] * NEUTRAL) + (
            0.0 if self.complete else max(weights["history"], 0.0))
        # Cold start: a tutor's exploration boost (learning.cold_boost) is added to its score; a tutor not read yet
        # may have the largest one, so the ceiling grows by it (the bound stays exact).
        self.boost_max, self.half_life = learning.cold_boost_settings()
        self.unseen_extra += self.boost_max * self.total_weight
        self.exposure_cap = learning.exposure_cap(self.half_life) if self.boost_max else None
        self.boosts = {}
        self.cards, self.fits, self.history, self.availability, self.scored = {}, {}, {}, {}, {}
        self.ranked = []

    def add(self, rows):
        """Take the tutors of ``rows`` in and score every tutor read (a tutor's level fit may have risen with a row
        of another level)."""
        new = _add_cards(rows, self.request["level"], self.cards, self.fits)
        self._add_history(new)
        if self.judged and new:
            self.availability.update(scheduling.availability_fractions(new, self.windows))
        if self.boost_max:
            self.boosts.update({row.id: learning.cold_boost(row.shown, self.boost_max, self.half_life)
                                for row in rows if row.id not in self.boosts})
        for tutor_id, card in self.cards.items():
            parts = _score_parts(card, self.fits[tutor_id], self.request, self.styles, self.history.get(tutor_id, 0),
                                 self.availability.get(tutor_id))
            score = sum(self.weights[name] * value for name, value in parts.items()) / self.total_weight
            self.scored[tutor_id] = (round(score + self.boosts.get(tutor_id, 0.0), 4), parts)
        self.ranked = sorted(self.scored, key=lambda tutor_id: (-self.scored[tutor_id][0], tutor_id))

    def _add_history(self, new):
        self.history.update({tutor_id: self.known[tutor_id] for tutor_id in new if tutor_id in self.known})
        others = [tutor_id for tutor_id in new if tutor_id not in self.known]
        if others and not self.complete:  # the student has more tutors than the history stream took: count them
            for tutor_id, count in scheduling.completed_session_counts(self.student_id, others).items():
                self.history[tutor_id] = self.history.get(tutor_id, 0) + count

    def settled(self, rows, fetch, limit):
        """Whether the top ``limit`` is final after reading ``rows``: every eligible tutor was returned, or the
        ``limit``-th score beats the ceiling of any tutor not read, or availability's budget is spent (a slot
        computation per tutor: then the top is exact over the best-bound tutors only)."""
        top_bounds = [row.bound for row in rows if row.stream == "top"]
        if len(top_bounds) < fetch:
            return True
        ceiling = round((min(top_bounds) + self.unseen_extra) / self.total_weight + BOUND_SLACK, 4)
        if len(self.ranked) >= limit and self.scored[self.ranked[limit - 1]][0] > ceiling:
            return True
        return self.judged and len(self.cards) >= AVAILABILITY_CANDIDATE_LIMIT

    def results(self, limit):
        """The top ``limit`` as results: card (with its subjects), score, rounded parts, reasons strongest first."""
        top = self.ranked[:limit]
        for tutor_id, subject_row in subjects_of(top):
            self.cards[tutor_id].subjects.append(subject_row)
        return [self._result(tutor_id) for tutor_id in top]

    def _result(self, tutor_id):
        card, (score, parts) = self.cards[tutor_id], self.scored[tutor_id]
        reasons = _reasons(card, parts, self.fits[tutor_id], self.request, self.styles, self.history.get(tutor_id, 0),
                           self.availability.get(tutor_id))
        ordered = sorted(reasons, key=lambda item: (-self.weights[item[0]] * parts[item[0]], item[0]))
        return {"tutor": card, "score": score, "parts": {name: round(value, 4) for name, value in parts.items()},
                "contributions": {name: round(self.weights[name] * value / self.total_weight, 4)
                                  for name, value in parts.items()},
                "boost": round(self.boosts.get(tutor_id, 0.0), 4),
                "reasons": [text for _name, text in ordered]}


def _add_cards(rows, wanted_level, cards, fits):
    """Cards (plain columns) of the tutors first seen in ``rows``, and every tutor's best level fit; the new ids."""
    new = []
    for row in rows:
        fit = level_fit(row.level, wanted_level)
        if row.id not in cards:
            fields = row._asdict()
            del fields["stream"], fields["bound"], fields["level"]
            fields.pop("shown", None)
            for name in JSON_CARD_COLUMNS:
                fields[name] = _json_list(fields[name])
            cards[row.id] = TutorCard(**fields, subjects=[])
            fits[row.id] = fit
            new.append(row.id)
        else:
            fits[row.id] = max(fits[row.id], fit)
    return sorted(new)


def _score_parts(profile, level_fit, request, styles, sessions, free_fraction):
    parts = {}
    parts["expertise"] = (0.5 * level_fit + 0.25 * profile.verified
                          + 0.25 * min(profile.years_experience, EXPERIENCE_SATURATION) / EXPERIENCE_SATURATION)
    rating = profile.rating_bayes if profile.rating_bayes is not None else profile.rating_avg
    parts["rating"] = rating / 5.0 if rating is not None else NEUTRAL
    parts["price_fit"] = _price_fit(profile, request.get("budget"))
    parts["distance"], _km, _radius = _distance_fit(profile, request)
    parts["style_fit"] = _style_fit(profile, styles)[0]
    parts["availability"] = NEUTRAL if free_fraction is None else max(0.0, min(1.0, float(free_fraction)))
    parts["history"] = min(sessions, HISTORY_SATURATION) / HISTORY_SATURATION
    return parts


def _reasons(profile, parts, level_fit, request, styles, sessions, free_fraction):
    """(part, text) pairs explaining a scored tutor (only built for the tutors returned)."""
    reasons = [("expertise", _expertise_reason(profile, level_fit, request))]
    reasons.append(("rating", f"Rated {profile.rating_avg:.1f}/5 from {profile.rating_count} reviews"
                    if profile.rating_avg is not None and profile.rating_count else "No reviews yet"))
    reasons.append(("price_fit", _price_reason(profile, request.get("budget"))))
    _fit, km, radius = _distance_fit(profile, request)
    if km is not None:
        reasons.append(("distance", f"{km:.1f} km away, within their {radius} km travel radius" if km <= radius
                        else f"{km:.1f} km away (they travel up to {radius} km)"))
    style_reason = _style_fit(profile, styles)[1]
    if style_reason:
        reasons.append(("style_fit", style_reason))
    if free_fraction is not None:
        reasons.append(("availability", f"Free for {round(parts['availability'] * 100)}% of your preferred times"))
    if sessions:
        reasons.append(("history", f"You have completed {sessions} session{'s' if sessions > 1 else ''} together"))
    return reasons


def _expertise_reason(profile, level_fit, request):
    subject_name = next((row.subject.name for row in profile.subjects if row.subject.slug == request["subject"]),
                        request["subject"])
    if level_fit == 1.0:
        text = f"Teaches {subject_name} at {request['level']} level"
    else:
        levels = sorted({row.level for row in profile.subjects if row.subject.slug == request["subject"]},
                        key=LEVELS.index)
        text = f"Teaches {subject_name} ({', '.join(levels)}), not at {request['level']} level"
    extras = []
    if profile.verified:
        extras.append("verified credentials")
    if profile.years_experience:
        extras.append(f"{profile.years_experience} years of experience")
    return text + (f"; {' and '.join(extras)}" if extras else "")


def _price_fit(profile, budget):
    return NEUTRAL if not budget else 1.0 - 0.5 * profile.rate_cents / max(budget["max_rate_cents"], 1)


def _price_reason(profile, budget):
    price = format_money(profile.rate_cents, profile.currency)
    if not budget:
        return f"{price} per hour"
    return f"{price} per hour, within your budget of {format_money(budget['max_rate_cents'], budget['currency'])}"


def _distance_fit(profile, request):
    """(fit, km, travel radius); km is None when distance cannot be judged (fit neutral)."""
    location = request.get("location")
    in_person = profile.mode in MODE_OFFERS["in_person"] and profile.latitude is not None
    if request["mode"] == "online" or location is None or not in_person:
        return NEUTRAL, None, None
    km = distance_km(location["lat"], location["lon"], profile.latitude, profile.longitude)
    radius = profile.travel_radius_km if profile.travel_radius_km is not None else DEFAULT_TRAVEL_RADIUS_KM
    if km <= radius:
        return 1.0, km, radius
    return max(0.0, 1.0 - (km - radius) / IN_PERSON_MAX_KM), km, radius


def _style_fit(profile, styles):
    if not styles:
        return NEUTRAL, None
    shared = sorted(styles & _style_set(tuple(profile.teaching_styles)))
    fit = len(shared) / len(styles)
    if shared:
        return fit, f"Teaches in your learning style{'s' if len(shared) > 1 else ''}: {', '.join(shared)}"
    return fit, "Does not list your learning styles"


# --- learned matching (app/matching/learning.py) ---------------------------------------------------------------

def record_match_event(student, request_id, tutor_id, kind):
    """A view or click on a tutor of the student's own match response (404 for another's request id)."""
    return learning.record_client_event(student.id, request_id, tutor_id, kind)


def train_model():
    """Train and store a new model version (the nightly job and `flask matching train`)."""
    return learning.train()


def evaluate_models(train_share=0.8, resamples=500, seed=0, randomised=True):
    """Fixed weights vs a model fitted on the earlier requests, on the later ones (see learning.evaluate)."""
    return learning.evaluate(current_weights(), train_share=train_share, resamples=resamples, seed=seed,
                             randomised=randomised)


ARMS = learning.ARMS  # the A/B arms a match response is served by (match_requests.arm)


def arm_metrics(since, until):
    if until <= since:
        raise Invalid("`to` must be after `from`.", errors={"to": ["Must be after from."]})
    return learning.arm_metrics(since, until)


def learned_share():
    return learning.learned_share()


def arm_report(since, until):
    """The admin's A/B view: per-arm metrics, the learned arm's share and the newest model version."""
    newest = latest_models(1)
    return {"arms": arm_metrics(since, until), "learned_share": learning.learned_share(),
            "model_version": newest[0].version if newest else None}


def set_learned_share(share):
    return learning.set_learned_share(share)


def latest_models(limit=10):
    return db.session.scalars(learning.models_query().limit(limit)).all()


def prune_match_log(now=None):
    return learning.prune_log(now)


def refresh_learned_model():
    return learning.refresh_model()


def join_booking_created(booking_id, student_id, tutor_id):
    learning.join_booking_created(booking_id, student_id, tutor_id)


def join_booking_completed(booking_id):
    learning.join_booking_completed(booking_id)


def join_rating(booking_id, overall):
    learning.join_rating(booking_id, overall)


def join_message(sender_id, recipient_id):
    learning.join_message(sender_id, recipient_id)
