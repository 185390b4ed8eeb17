"""Matching: candidates by index, scores in Python.

Candidate generation (the part that must stay fast at 100k tutors) walks the tutors of the requested subject best
*prior* first, backwards along ``ix_tutor_subjects_match_prior`` / ``ix_tutor_subjects_level_match_prior``, with the
profile's hard filters (not the student, mode and distance, budget) applied on the way, and stops at its limit.
The prior is the request-independent part of the score (rating, verified, experience; ``match_prior``), copied
to ``tutor_subjects.match_prior`` by database triggers (migration 0007). Four streams are united:

* the CANDIDATE_LIMIT best-prior tutors of the subject, any level;
* the LEVEL_CANDIDATE_LIMIT best-prior tutors teaching it at the requested level (so tutors at the right level
  are not crowded out by better-rated ones teaching it at another level);
* when the request has an in-person side and a location, the NEAR_CANDIDATE_LIMIT best-prior in-person tutors
  within IN_PERSON_MAX_KM (bounding box on the lat/lon index, then haversine), so the distance part, which
  favours them strongly, has them to score;
* the student's own tutors (at most HISTORY_CANDIDATE_LIMIT, from the scheduling history hook) whatever their
  prior, so a tutor the student keeps booking is always scored.

Being listed (active account, tutor role) is the profile column ``listed``, also kept by triggers. The same
statement checks blocks on the walked rows only and reads their card columns; a stream left short by blocked
tutors is walked further.
The statement is built once per request shape (mode, location, bounding-box kind, budget, history) with bind
parameters for every value (``candidate_statement``/``candidate_params``): no per-request statement building,
and the same SQL text each time, which psycopg prepares after a few executions (no planning per request).
Python scores only those candidates (~150) on the seven parts with the weights from weights.py, exactly as
before; only the top ``limit`` get reasons and subject lists.

Trade-off: the parts outside the prior (price fit, style fit, availability, and level and distance beyond their
streams) reorder the candidates but cannot bring in a tutor whose prior is below every stream's cut-off. A
cheaper or better-suited tutor with a weak prior is missed when more than CANDIDATE_LIMIT eligible tutors of the
subject (LEVEL_CANDIDATE_LIMIT at the level, NEAR_CANDIDATE_LIMIT nearby) have a better prior; history is the
exception (its own stream). The
previous design pre-scored every tutor of the subject in SQL on expertise, rating and price (~6,000 rows at
100k tutors, 40-60 ms) and also cut at 200, so it had the same blind spot for distance, style and availability.
bench/search.py measures how often the new top 10 equals the top 10 of scoring every eligible tutor.
"""
import functools
import json
import math

import sqlalchemy as sa

from app.common.errors import Invalid, NotFound
from app.common.money import format_money
from app.extensions import db
from app.matching import hooks
from app.matching.models import StudentBlock
from app.matching.weights import current_weights
from app.tutors.models import LEVELS, TutorProfile, TutorSubject
from app.tutors.search import (
    CARD_COLUMNS,
    MODE_OFFERS,
    TutorCard,
    bounding_box_bounds,
    bounding_box_condition,
    distance_km,
    haversine_km_sql,
    ids_param,
    subjects_of,
)
from app.tutors.services import listed_tutors_filter, public_profile, subject_by_slug
from app.users.models import User

CANDIDATE_LIMIT = 100
LEVEL_CANDIDATE_LIMIT = 50
NEAR_CANDIDATE_LIMIT = 50
HISTORY_CANDIDATE_LIMIT = 50
IN_PERSON_MAX_KM = 100.0
DEFAULT_TRAVEL_RADIUS_KM = 10
NEUTRAL = 0.5
HISTORY_SATURATION = 3
EXPERIENCE_SATURATION = 10
# The stored prior (migration 0007 computes it in SQL, this is the same formula):
# 0.5 * rating / 5 (neutral 2.5 when unrated) + 0.25 * verified + 0.25 * min(years, 10) / 10.
PRIOR_PARTS = {"rating": 0.5, "verified": 0.25, "experience": 0.25}
PART_LABELS = {"expertise": "expertise", "rating": "rating", "price_fit": "price", "distance": "distance",
               "style_fit": "teaching style", "availability": "availability", "history": "history"}


def match_prior(rating_bayes, rating_avg, verified, years_experience):
    """The request-independent quality matching walks candidates by (what the triggers store)."""
    rating = rating_bayes if rating_bayes is not None else rating_avg if rating_avg is not None else 2.5
    return (PRIOR_PARTS["rating"] * rating / 5.0 + PRIOR_PARTS["verified"] * bool(verified)
            + PRIOR_PARTS["experience"] * min(years_experience, EXPERIENCE_SATURATION) / EXPERIENCE_SATURATION)


def block_tutor(student, tutor_id):
    if tutor_id == student.id:
        raise Invalid("You cannot block yourself.")
    public_profile(tutor_id)
    if db.session.get(StudentBlock, (student.id, tutor_id)) is None:
        db.session.add(StudentBlock(student_id=student.id, tutor_id=tutor_id))
        db.session.commit()


def unblock_tutor(student, tutor_id):
    block = db.session.get(StudentBlock, (student.id, tutor_id))
    if block is None:
        raise NotFound("You have not blocked this tutor.")
    db.session.delete(block)
    db.session.commit()


_CANDIDATE_STATEMENTS = {}


def candidate_statement(shape):
    """The candidate statement for a request shape, built once per process with bind parameters for every value
    (see candidate_params), so a request neither rebuilds nor recompiles it and PostgreSQL sees the same SQL text
    (prepared after a few executions).

    ``shape``: (dialect, mode, has location, bounding-box longitude kind, has budget, has history).
    """
    statement = _CANDIDATE_STATEMENTS.get(shape)
    if statement is None:
        statement = _CANDIDATE_STATEMENTS.setdefault(shape, candidate_rows_statement(*shape[1:]))
    return statement


def candidate_params(student, request, subject_id, limits, history_ids=()):
    """(shape, parameters) of the candidate statement for this request."""
    mode, budget = request["mode"], request.get("budget")
    location = request.get("location") if mode != "online" else None
    wanted = LEVELS.index(request["level"])
    params = {"subject_id": subject_id, "student_id": student.id, "level": request["level"],
              "higher_levels": list(LEVELS[wanted + 1:]), "limit_any": limits["any"],
              "limit_level": limits["level"]}
    lon_kind = None
    if location is not None:
        lat, lon = location["lat"], location["lon"]
        lat_low, lat_high, lon_kind, lon_low, lon_high = bounding_box_bounds(lat, lon, IN_PERSON_MAX_KM)
        lat_rad = math.radians(lat)
        params.update(lat_rad=lat_rad, lon_rad=math.radians(lon), cos_lat=math.cos(lat_rad), lat_low=lat_low,
                      lat_high=lat_high, max_km=IN_PERSON_MAX_KM, limit_near=limits["near"])
        if lon_kind is not None:
            params.update(lon_low=lon_low, lon_high=lon_high)
    if budget:
        params.update(currency=budget["currency"], max_rate=budget["max_rate_cents"])
    if history_ids:
        params["history_ids"] = list(history_ids)
    shape = (db.engine.dialect.name, mode, location is not None, lon_kind, bool(budget), bool(history_ids))
    return shape, params


def walk_statement(mode, has_location, lon_kind, has_budget, has_history):
    """The candidate streams: rows (stream, tutor_id, match_prior), each stream best prior first.

    Only tutor_subjects and tutor_profiles are joined here, with the hard filters on the profile (listed is a
    profile column kept by triggers), so each stream is a backward scan of a match_prior index plus one profile
    probe per row, stopping at its limit.
    """
    nearby = None
    if has_location:
        lon_bounds = ((sa.bindparam("lon_low", type_=sa.Float), sa.bindparam("lon_high", type_=sa.Float))
                      if lon_kind else (None, None))
        box = bounding_box_condition(sa.bindparam("lat_low", type_=sa.Float), sa.bindparam("lat_high", type_=sa.Float),
                                     lon_kind, *lon_bounds)
        distance = haversine_km_sql(sa.bindparam("lat_rad", type_=sa.Float), sa.bindparam("lon_rad", type_=sa.Float),
                                    sa.bindparam("cos_lat", type_=sa.Float))
        nearby = sa.and_(TutorProfile.mode.in_(MODE_OFFERS["in_person"]), box,
                         distance <= sa.bindparam("max_km", type_=sa.Float))
    online = TutorProfile.mode.in_(MODE_OFFERS["online"])
    # online: tutors teaching online; in_person: in-person tutors within IN_PERSON_MAX_KM; both: either.
    mode_condition = online if nearby is None else nearby if mode == "in_person" else sa.or_(online, nearby)
    hard = [TutorSubject.subject_id == sa.bindparam("subject_id"), TutorSubject.tutor_id != sa.bindparam("student_id"),
            listed_tutors_filter(), mode_condition]
    if has_budget:
        hard += [TutorProfile.currency == sa.bindparam("currency"),
                 TutorProfile.rate_cents <= sa.bindparam("max_rate")]

    def stream(name, *where, limit=None):
        stmt = (sa.select(sa.literal(name).label("stream"), TutorSubject.tutor_id, TutorSubject.match_prior)
                .select_from(TutorSubject).join(TutorProfile, TutorProfile.user_id == TutorSubject.tutor_id)
                .where(*hard, *where))
        if limit:
            stmt = (stmt.order_by(TutorSubject.match_prior.desc(), TutorSubject.tutor_id.desc())
                    .limit(sa.bindparam(limit, type_=sa.Integer)))
        return sa.select(stmt.subquery())

    streams = [stream("any", limit="limit_any"),
               stream("level", TutorSubject.level == sa.bindparam("level"), limit="limit_level")]
    if nearby is not None:
        streams.append(stream("near", nearby, limit="limit_near"))
    if has_history:
        streams.append(stream("history", ids_param(TutorSubject.tutor_id, "history_ids")))
    return sa.union_all(*streams)


def candidate_rows_statement(*shape):
    """Every walked row with the tutor's card columns, level_fit and whether the tutor is eligible: one statement.

    Eligible = not blocked by the student. Checked here, on the walked rows only, rather than inside the walk
    (an anti-join there costs planning time on every request for what is almost never true); ``candidates``
    walks further when blocked rows leave a stream short.
    """
    walk = walk_statement(*shape).subquery("walk")
    level = sa.bindparam("level")
    fit = sa.case((TutorSubject.level == level, 1.0),
                  (TutorSubject.level.in_(sa.bindparam("higher_levels", expanding=True)), 0.8), else_=0.4)
    level_fit = (sa.select(sa.func.max(fit)).where(TutorSubject.tutor_id == TutorProfile.user_id,
                                                   TutorSubject.subject_id == sa.bindparam("subject_id"))
                 .scalar_subquery().label("level_fit"))
    blocked = sa.select(StudentBlock.tutor_id).where(StudentBlock.student_id == sa.bindparam("student_id"),
                                                     StudentBlock.tutor_id == TutorProfile.user_id).exists()
    eligible = sa.case((~blocked, True), else_=False).label("eligible")
    # The JSON lists as text, decoded once per distinct value (_json_list) rather than per row by the driver.
    columns = [sa.cast(column, sa.Text).label(column.key) if column.key in JSON_CARD_COLUMNS else column
               for column in CARD_COLUMNS]
    return (sa.select(walk.c.stream, walk.c.match_prior, eligible, *columns, level_fit).select_from(walk)
            .join(TutorProfile, TutorProfile.user_id == walk.c.tutor_id).join(User, User.id == TutorProfile.user_id))


def candidate_rows_query(student, request, subject_id, limits, history_ids=()):
    """The candidate statement of a request with its values bound (for EXPLAIN in bench/search.py)."""
    shape, params = candidate_params(student, request, subject_id, limits, history_ids)
    return candidate_statement(shape).params(params)


def candidates(student, request, subject_id, history_ids=()):
    """{tutor_id: TutorCard (with level_fit)} for the eligible tutors of the streams.

    A stream that hit its limit and lost rows to the eligibility check is walked again further (rare: it takes
    blocked tutors among the best priors), so each stream yields its full quota of eligible tutors when that
    many exist.
    """
    quota = {"any": CANDIDATE_LIMIT, "level": LEVEL_CANDIDATE_LIMIT, "near": NEAR_CANDIDATE_LIMIT}
    limits = dict(quota)
    while True:
        shape, params = candidate_params(student, request, subject_id, limits, history_ids)
        rows = db.session.execute(candidate_statement(shape), params).all()
        rows.sort(key=lambda row: (-row.match_prior, -row.id))
        walked = {"any": 0, "level": 0, "near": 0, "history": 0}
        chosen = {"any": [], "level": [], "near": [], "history": []}
        cards = {}
        for row in rows:
            walked[row.stream] += 1
            if row.eligible:
                if row.id not in chosen[row.stream]:
                    chosen[row.stream].append(row.id)
                if row.id not in cards:
                    fields = row._asdict()
                    del fields["stream"], fields["match_prior"], fields["eligible"]
                    for name in JSON_CARD_COLUMNS:
                        fields[name] = _json_list(fields[name])
                    cards[row.id] = TutorCard(**fields, subjects=[])
        short = [name for name in quota if walked[name] == limits[name] and len(chosen[name]) < quota[name]]
        if not short:
            break
        for name in short:
            limits[name] *= 2
    keep = set(chosen["history"]).union(*(chosen[name][:quota[name]] for name in quota))
    return {tutor_id: card for tutor_id, card in cards.items() if tutor_id in keep}


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
    """Ranked tutors with score, parts and reasons; ties broken by tutor id, so equal inputs give equal output."""
    weights = current_weights()
    subject = subject_by_slug(request["subject"])
    _require_location(request)
    known, complete = hooks.history_tutors(student.id, HISTORY_CANDIDATE_LIMIT)
    cards = candidates(student, request, subject.id, list(known))
    ids = sorted(cards)
    history = {tutor_id: known[tutor_id] for tutor_id in ids if tutor_id in known}
    others = [tutor_id for tutor_id in ids if tutor_id not in known]
    if others and not complete:  # the student has more tutors than the history stream took: count the others
        for tutor_id, count in hooks.completed_session_counts(student.id, others).items():
            history[tutor_id] = history.get(tutor_id, 0) + count
    windows = [(w["start"], w["end"]) for w in request.get("preferred_times") or []]
    availability = hooks.availability_fractions(ids, windows) if ids else {}
    styles = set(request.get("learning_styles") or student.learning_styles or [])
    total_weight = sum(weights.values()) or 1.0
    scored = []
    for tutor_id in ids:
        card = cards[tutor_id]
        level_fit = float(card.level_fit)
        parts = _score_parts(card, level_fit, request, styles, history.get(tutor_id, 0), availability.get(tutor_id))
        score = round(sum(weights[name] * value for name, value in parts.items()) / total_weight, 4)
        scored.append((-score, tutor_id, score, parts, level_fit))
    scored.sort(key=lambda item: item[:2])
    top = scored[:limit]
    for tutor_id, subject_row in subjects_of([item[1] for item in top]):
        cards[tutor_id].subjects.append(subject_row)
    results = []
    for _key, tutor_id, score, parts, level_fit in top:
        card = cards[tutor_id]
        reasons = _reasons(card, parts, level_fit, request, styles, history.get(tutor_id, 0),
                           availability.get(tutor_id))
        ordered = sorted(reasons, key=lambda item: (-weights[item[0]] * parts[item[0]], item[0]))
        results.append({"tutor": card, "score": score, "parts": {k: round(v, 4) for k, v in parts.items()},
                        "reasons": [text for _name, text in ordered]})
    return {"matches": results, "weights": weights, "candidates_considered": len(ids)}


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
