"""Matching: hard filters (subject, mode, budget, blocks) and a pre-score in SQL pick at most
CANDIDATE_LIMIT tutors; Python scores those on seven parts with the weights from weights.py."""
import sqlalchemy as sa

from app.common.errors import Invalid, NotFound
from app.common.money import format_money
from app.extensions import db
from app.matching import hooks
from app.matching.models import StudentBlock
from app.matching.weights import current_weights
from app.tutors.models import LEVELS, TutorProfile, TutorSubject
from app.tutors.search import (
    MODE_OFFERS,
    base_query,
    bounding_box,
    distance_km,
    distance_km_sql,
)
from app.tutors.services import public_profile, subject_by_slug

CANDIDATE_LIMIT = 200
IN_PERSON_MAX_KM = 100.0
DEFAULT_TRAVEL_RADIUS_KM = 10
NEUTRAL = 0.5
HISTORY_SATURATION = 3
EXPERIENCE_SATURATION = 10
PART_LABELS = {"expertise": "expertise", "rating": "rating", "price_fit": "price", "distance": "distance",
               "style_fit": "teaching style", "availability": "availability", "history": "history"}


def _least(*args):
    return (sa.func.least if db.engine.dialect.name == "postgresql" else sa.func.min)(*args)


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


def _level_fit_sql(level):
    """1 when taught at the requested level, 0.8 when taught above it, 0.4 when only below it."""
    wanted = LEVELS.index(level)
    above = [name for name in LEVELS[wanted + 1:]]
    return sa.func.max(sa.case((TutorSubject.level == level, 1.0), (TutorSubject.level.in_(above), 0.8), else_=0.4))


def candidate_query(student, request, weights):
    """Tutors passing every hard filter, best SQL pre-score first, at most CANDIDATE_LIMIT."""
    subject = subject_by_slug(request["subject"])
    taught = (sa.select(TutorSubject.tutor_id, _level_fit_sql(request["level"]).label("level_fit"))
              .where(TutorSubject.subject_id == subject.id).group_by(TutorSubject.tutor_id).subquery())
    blocked = sa.select(StudentBlock.tutor_id).where(StudentBlock.student_id == student.id,
                                                     StudentBlock.tutor_id == TutorProfile.user_id)
    stmt = (base_query().add_columns(taught.c.level_fit).join(taught, taught.c.tutor_id == TutorProfile.user_id)
            .where(TutorProfile.user_id != student.id, ~blocked.exists()))
    stmt = stmt.where(_mode_condition(request["mode"], request.get("location")))
    budget = request.get("budget")
    price_sql = sa.literal(NEUTRAL)
    if budget:
        stmt = stmt.where(TutorProfile.currency == budget["currency"],
                          TutorProfile.rate_cents <= budget["max_rate_cents"])
        price_sql = 1.0 - 0.5 * TutorProfile.rate_cents / float(max(budget["max_rate_cents"], 1))
    verified = sa.case((TutorProfile.verified.is_(True), 1.0), else_=0.0)
    expertise = (0.5 * taught.c.level_fit + 0.25 * verified
                 + 0.25 * _least(TutorProfile.years_experience, EXPERIENCE_SATURATION) / float(EXPERIENCE_SATURATION))
    rating = sa.func.coalesce(TutorProfile.rating_bayes, TutorProfile.rating_avg, 5 * NEUTRAL) / 5.0
    prescore = weights["expertise"] * expertise + weights["rating"] * rating + weights["price_fit"] * price_sql
    return stmt.order_by(prescore.desc(), TutorProfile.user_id).limit(CANDIDATE_LIMIT)


def _mode_condition(mode, location):
    """online: tutors teaching online; in_person: in-person tutors within IN_PERSON_MAX_KM; both: either."""
    online = TutorProfile.mode.in_(MODE_OFFERS["online"])
    if mode == "online":
        return online
    if location is None:
        if mode == "in_person":
            raise Invalid("In-person matching needs your location.", errors={"location": ["Required for in_person."]})
        return online
    lat, lon = location["lat"], location["lon"]
    nearby = sa.and_(TutorProfile.mode.in_(MODE_OFFERS["in_person"]), bounding_box(lat, lon, IN_PERSON_MAX_KM),
                     distance_km_sql(lat, lon) <= IN_PERSON_MAX_KM)
    return nearby if mode == "in_person" else sa.or_(online, nearby)


def match(student, request, limit=10):
    """Ranked tutors with score, parts and reasons; ties broken by tutor id, so equal inputs give equal output."""
    weights = current_weights()
    rows = db.session.execute(candidate_query(student, request, weights)).unique().all()
    profiles = {row[0].user_id: (row[0], row[1]) for row in rows}
    ids = sorted(profiles)
    history = hooks.completed_session_counts(student.id, ids) if ids else {}
    windows = [(w["start"], w["end"]) for w in request.get("preferred_times") or []]
    availability = hooks.availability_fractions(ids, windows) if ids else {}
    styles = set(request.get("learning_styles") or student.learning_styles or [])
    total_weight = sum(weights.values()) or 1.0
    results = []
    for tutor_id in ids:
        profile, level_fit = profiles[tutor_id]
        parts, reasons = _score_parts(profile, float(level_fit), request, styles,
                                      history.get(tutor_id, 0), availability.get(tutor_id))
        score = round(sum(weights[name] * value for name, value in parts.items()) / total_weight, 4)
        ordered = sorted(reasons, key=lambda item: (-weights[item[0]] * parts[item[0]], item[0]))
        results.append({"tutor": profile, "score": score, "parts": {k: round(v, 4) for k, v in parts.items()},
                        "reasons": [text for _name, text in ordered]})
    results.sort(key=lambda item: (-item["score"], item["tutor"].user_id))
    return {"matches": results[:limit], "weights": weights, "candidates_considered": len(ids)}


def _score_parts(profile, level_fit, request, styles, sessions, free_fraction):
    parts, reasons = {}, []
    parts["expertise"] = (0.5 * level_fit + 0.25 * profile.verified
                          + 0.25 * min(profile.years_experience, EXPERIENCE_SATURATION) / EXPERIENCE_SATURATION)
    reasons.append(("expertise", _expertise_reason(profile, level_fit, request)))
    rating = profile.rating_bayes if profile.rating_bayes is not None else profile.rating_avg
    parts["rating"] = rating / 5.0 if rating is not None else NEUTRAL
    reasons.append(("rating", f"Rated {profile.rating_avg:.1f}/5 from {profile.rating_count} reviews"
                    if profile.rating_avg is not None and profile.rating_count else "No reviews yet"))
    parts["price_fit"], price_reason = _price_fit(profile, request.get("budget"))
    reasons.append(("price_fit", price_reason))
    parts["distance"], distance_reason = _distance_fit(profile, request)
    if distance_reason:
        reasons.append(("distance", distance_reason))
    parts["style_fit"], style_reason = _style_fit(profile, styles)
    if style_reason:
        reasons.append(("style_fit", style_reason))
    if free_fraction is None:
        parts["availability"] = NEUTRAL
    else:
        parts["availability"] = max(0.0, min(1.0, float(free_fraction)))
        reasons.append(("availability", f"Free for {round(parts['availability'] * 100)}% of your preferred times"))
    parts["history"] = min(sessions, HISTORY_SATURATION) / HISTORY_SATURATION
    if sessions:
        reasons.append(("history", f"You have completed {sessions} session{'s' if sessions > 1 else ''} together"))
    return parts, reasons


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
    price = format_money(profile.rate_cents, profile.currency)
    if not budget:
        return NEUTRAL, f"{price} per hour"
    fit = 1.0 - 0.5 * profile.rate_cents / max(budget["max_rate_cents"], 1)
    return fit, f"{price} per hour, within your budget of {format_money(budget['max_rate_cents'], budget['currency'])}"


def _distance_fit(profile, request):
    location = request.get("location")
    in_person = profile.mode in MODE_OFFERS["in_person"] and profile.latitude is not None
    if request["mode"] == "online" or location is None or not in_person:
        return NEUTRAL, None
    km = distance_km(location["lat"], location["lon"], profile.latitude, profile.longitude)
    radius = profile.travel_radius_km if profile.travel_radius_km is not None else DEFAULT_TRAVEL_RADIUS_KM
    if km <= radius:
        return 1.0, f"{km:.1f} km away, within their {radius} km travel radius"
    fit = max(0.0, 1.0 - (km - radius) / IN_PERSON_MAX_KM)
    return fit, f"{km:.1f} km away (they travel up to {radius} km)"


def _style_fit(profile, styles):
    if not styles:
        return NEUTRAL, None
    shared = sorted(styles & set(profile.teaching_styles))
    fit = len(shared) / len(styles)
    if shared:
        return fit, f"Teaches in your learning style{'s' if len(shared) > 1 else ''}: {', '.join(shared)}"
    return fit, "Does not list your learning styles"
