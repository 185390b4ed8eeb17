"""Tutor search (GET /tutors): every filter is SQL on indexed columns; PostgreSQL full-text search, LIKE on SQLite.

Distance: a bounding box on the (latitude, longitude) btree narrows the rows, then the exact haversine
great-circle distance (computed in SQL) filters and sorts them. No PostGIS needed. The availability window keeps
exactly the tutors /slots would show a slot for: scheduling's SQL prefilter narrows the rows, then the matches are
read in order, a chunk at a time, and scheduling's slot expansion keeps those with a slot (search_available_page).
Also the geometry and card helpers matching's candidates share.
"""
import math
from types import SimpleNamespace

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import contains_eager, lazyload

from app.common import time as clock
from app.common.pagination import (
    SortKey,
    order_clauses,
    page_keys_statement,
    paginate_keys,
)
from app.extensions import db
from app.scheduling import services as scheduling
from app.tutors.models import SEARCH_VECTOR, Subject, TutorProfile, TutorSubject
from app.tutors.services import listed_tutors_filter, subject_by_slug
from app.users.models import User

EARTH_RADIUS_KM = 6371.0088
MODE_OFFERS = {"online": ("online", "both"), "in_person": ("in_person", "both"), "both": ("both",)}


def is_postgres():
    return db.engine.dialect.name == "postgresql"


def distance_km_sql(lat, lon, lat_col=TutorProfile.latitude, lon_col=TutorProfile.longitude):
    """Exact haversine distance (km) from a point to the row's coordinates, as a SQL expression."""
    lat1 = math.radians(lat)
    return haversine_km_sql(lat1, math.radians(lon), math.cos(lat1), lat_col, lon_col)


def haversine_km_sql(lat1_rad, lon1_rad, cos_lat1, lat_col=TutorProfile.latitude, lon_col=TutorProfile.longitude):
    """distance_km_sql from the point's radians and cosine: numbers, or bind parameters for a prebuilt statement."""
    half_dlat = sa.func.sin((sa.func.radians(lat_col) - lat1_rad) / 2)
    half_dlon = sa.func.sin((sa.func.radians(lon_col) - lon1_rad) / 2)
    inner = half_dlat * half_dlat + cos_lat1 * sa.func.cos(sa.func.radians(lat_col)) * half_dlon * half_dlon
    capped = (sa.func.least if is_postgres() else sa.func.min)(sa.func.sqrt(inner), 1.0)
    return 2 * EARTH_RADIUS_KM * sa.func.asin(capped)


def distance_km(lat1, lon1, lat2, lon2):
    """The same haversine in Python (for showing distances on a page of results)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def bounding_box(lat, lon, radius_km, lat_col=TutorProfile.latitude, lon_col=TutorProfile.longitude):
    """A condition on the lat/lon index containing every point within radius_km (antimeridian and poles handled)."""
    return bounding_box_condition(*bounding_box_bounds(lat, lon, radius_km), lat_col=lat_col, lon_col=lon_col)


def bounding_box_bounds(lat, lon, radius_km):
    """(lat_low, lat_high, lon_kind, lon_low, lon_high) of bounding_box: lon_kind None (any longitude),
    "between" (lon_low <= lon <= lon_high) or "wrap" (lon >= lon_low or lon <= lon_high, across the antimeridian)."""
    angular = radius_km / EARTH_RADIUS_KM
    dlat = math.degrees(angular)
    cos_lat = math.cos(math.radians(lat))
    if abs(lat) + dlat < 90 and math.sin(angular) < cos_lat:
        dlon = math.degrees(math.asin(math.sin(angular) / cos_lat))
        low, high = lon - dlon, lon + dlon
        if low < -180:
            return lat - dlat, lat + dlat, "wrap", low + 360, high
        if high > 180:
            return lat - dlat, lat + dlat, "wrap", low, high - 360
        return lat - dlat, lat + dlat, "between", low, high
    return lat - dlat, lat + dlat, None, None, None


def bounding_box_condition(lat_low, lat_high, lon_kind, lon_low, lon_high, lat_col=TutorProfile.latitude,
                           lon_col=TutorProfile.longitude):
    """The SQL of bounding_box_bounds; the bounds are numbers, or bind parameters for a prebuilt statement."""
    conditions = [lat_col.between(lat_low, lat_high)]
    if lon_kind == "wrap":
        conditions.append(sa.or_(lon_col >= lon_low, lon_col <= lon_high))
    elif lon_kind == "between":
        conditions.append(lon_col.between(lon_low, lon_high))
    return sa.and_(*conditions)


def id_in(column, ids):
    """``column`` is one of ``ids``: one array parameter on PostgreSQL (same SQL text whatever the number of ids,
    so statements stay cached and prepared), an IN list elsewhere."""
    ids = list(ids)
    if is_postgres():
        return column == sa.any_(sa.bindparam(None, ids, type_=ARRAY(sa.Integer)))
    return column.in_(ids)


def ids_param(column, name):
    """id_in with a named parameter (a list of ids given at execution), for prebuilt statements."""
    if is_postgres():
        return column == sa.any_(sa.bindparam(name, type_=ARRAY(sa.Integer)))
    return column.in_(sa.bindparam(name, expanding=True))


def json_array_contains(column, value):
    """``value`` is an element of a JSON array column: JSONB @> (GIN-indexed) on PostgreSQL, json_each on SQLite."""
    if is_postgres():
        return sa.type_coerce(column, JSONB).contains([value])
    elements = sa.func.json_each(column).table_valued("value")
    return sa.exists(sa.select(1).select_from(elements).where(elements.c.value == value))


def text_condition(q):
    if is_postgres():
        return sa.text(f"{SEARCH_VECTOR} @@ websearch_to_tsquery('english', :q)").bindparams(q=q)
    haystack = sa.func.lower(TutorProfile.search_name + " " + TutorProfile.headline + " " + TutorProfile.bio)
    return sa.and_(*(haystack.contains(word.lower(), autoescape=True) for word in q.split()))


def text_rank(q):
    """Full-text rank of the row for ``q`` (PostgreSQL), higher is better."""
    return sa.func.ts_rank_cd(sa.literal_column(SEARCH_VECTOR),
                              sa.func.websearch_to_tsquery(sa.literal_column("'english'"), q), type_=sa.Float)


def base_query():
    """Listed tutors: active users with the tutor role and a profile (ORM entities, for callers needing them)."""
    return (sa.select(TutorProfile).join(User, User.id == TutorProfile.user_id)
            .where(listed_tutors_filter())
            .options(contains_eager(TutorProfile.user), lazyload(TutorProfile.user, User.role_rows)))


def search_query(filters):
    """The select of TutorProfile entities for GET /tutors with every filter but the availability window, in the
    requested order."""
    stmt, distance = _filtered(base_query(), filters)
    return stmt.order_by(*order_clauses(_ordering(filters, distance)))


def search_page_statement(filters, first_item, page_size, count_cap):
    """One statement giving a page of tutor ids and the (capped) number of matches: see paginate_keys."""
    stmt, distance = _filtered(sa.select(TutorProfile.user_id.label("id")).where(listed_tutors_filter()), filters)
    return page_keys_statement(stmt, _ordering(filters, distance), first_item, page_size, count_cap)


def search_page(filters, first_item, page_size, count_cap):
    """(cards, total) for GET /tutors: ids and total in one statement, then the page's cards by id."""
    if filters.get("available_start"):
        ids, total = search_available_page(filters, first_item, page_size)
    else:
        ids, total = paginate_keys(search_page_statement(filters, first_item, page_size, count_cap))
    return with_distances(load_cards(ids), filters.get("near")), total


# Matches read per round with the availability window (a round costs a query; a candidate more, one tutor's slot
# expansion): what is still missing, divided by the share the expansion kept so far (the prefilter keeps some
# tutors the expansion drops; a quarter at worst), plus AVAILABLE_SLACK, at least AVAILABLE_CHUNK. Before the first
# round the share is taken as FIRST_SHARE, on the low side of what the expansion keeps (about half to all the
# tutors the prefilter passes, for windows of an hour or two): a round more costs more than a few tutors more,
# since it sorts the matches again and tests the prefilter again on those it skips.
AVAILABLE_CHUNK = 10
AVAILABLE_SLACK = 4
FIRST_SHARE = 0.6


def _chunk_size(missing, read, kept):
    share = max(kept / read, 0.25) if read else FIRST_SHARE
    return max(AVAILABLE_CHUNK, int(missing / share) + AVAILABLE_SLACK)


def _available_candidates(filters, now):
    """(statement, parameters): the ids matching every filter, the availability window prefiltered, in the
    requested order.

    Ordered by the rank index (no selective filter), PostgreSQL walks the index and tests the prefilter row by
    row until the LIMIT. With a selective filter the matches are sorted first (a few thousand at most) and the
    prefilter is tested on the sorted rows, outside the subquery (its OFFSET 0 keeps PostgreSQL from pushing the
    prefilter inside, where every match would be tested before sorting)."""
    stmt, distance = _filtered(sa.select(TutorProfile.user_id).where(listed_tutors_filter()), filters)
    keys = _ordering(filters, distance)
    params = scheduling.may_have_slots_params(filters["available_start"], filters["available_end"], now)
    if not any(filters.get(name) for name in SELECTIVE_FILTERS):
        return stmt.where(scheduling.may_have_slots(TutorProfile.user_id)).order_by(*order_clauses(keys)), params
    labels = [key.expr.label(f"sort_{index}") for index, key in enumerate(keys)]
    sorted_matches = stmt.add_columns(*labels).order_by(*order_clauses(keys, labels)).offset(0).subquery()
    return (sa.select(sorted_matches.c.user_id).where(scheduling.may_have_slots(sorted_matches.c.user_id))
            .order_by(*order_clauses(keys, [sorted_matches.c[label.name] for label in labels]))), params


def search_available_page(filters, first_item, page_size, now=None):
    """(ids of the page, total) with the availability window: the prefiltered matches in order, a chunk at a time,
    kept when scheduling finds a slot of the requested duration (default: the tutor's shortest) starting in the
    window (tutors_with_slots, the expansion /slots runs), until one match past the page. So the total counts up
    to one past the page: exact when it is smaller, else a lower bound that keeps next_page right."""
    now = now or clock.utcnow()  # one instant for the prefilter and the expansion
    stmt, params = _available_candidates(filters, now)
    wanted = first_item + page_size + 1
    found, offset, read = [], 0, 0
    while len(found) < wanted:
        chunk = _chunk_size(wanted - len(found), read, len(found))
        ids = db.session.scalars(stmt.limit(chunk).offset(offset), params).all()
        found += scheduling.tutors_with_slots(ids, filters["available_start"], filters["available_end"],
                                              filters.get("duration"), now)
        read += len(ids)
        if len(ids) < chunk:
            break
        offset += chunk
    return found[first_item:first_item + page_size], min(len(found), wanted)


def _filtered(stmt, filters):
    """``stmt`` (over tutor_profiles) narrowed by every filter but the availability window (search_page applies it
    in search_available_page); also the distance expression (None without near)."""
    stmt = _subject_filter(stmt, filters.get("subject"), filters.get("level"))
    stmt = stmt.where(*_profile_conditions(filters))
    distance = None
    if "near" in filters:
        lat, lon = filters["near"]
        distance = distance_km_sql(lat, lon)
        stmt = stmt.where(TutorProfile.mode.in_(MODE_OFFERS["in_person"]),
                          bounding_box(lat, lon, filters["radius_km"]), distance <= filters["radius_km"])
    if filters.get("q"):
        stmt = stmt.where(text_condition(filters["q"]))
    return stmt, distance


# Filters that are one condition on a tutor_profiles column: name -> condition for the filter's value (None:
# no condition).
PROFILE_FILTERS = {
    "min_rate": lambda value: TutorProfile.rate_cents >= value,
    "max_rate": lambda value: TutorProfile.rate_cents <= value,
    "currency": lambda value: TutorProfile.currency == value,
    "min_rating": lambda value: TutorProfile.rating_avg >= value,
    "mode": lambda value: TutorProfile.mode.in_(MODE_OFFERS[value]),
    "verified_only": lambda value: TutorProfile.verified.is_(True) if value else None,
    "language": lambda value: json_array_contains(TutorProfile.languages, value),
    "teaching_style": lambda value: json_array_contains(TutorProfile.teaching_styles, value),
}


def _profile_conditions(filters):
    """The conditions of the column filters given, in PROFILE_FILTERS order."""
    conditions = (condition(filters[name]) for name, condition in PROFILE_FILTERS.items() if name in filters)
    return [condition for condition in conditions if condition is not None]


def _subject_filter(stmt, slug, level):
    if not slug and not level:
        return stmt
    conditions = []
    if slug:
        conditions.append(TutorSubject.subject_id == subject_by_slug(slug).id)
    if level:
        conditions.append(TutorSubject.level == level)
    if is_postgres():
        # user_id = ANY(ARRAY(SELECT tutor_id ...)): the tutors of the subject are collected from the index first,
        # then their profiles probed by primary key. Written as EXISTS, PostgreSQL (default cost settings) prefers
        # hashing every profile under the rate filter, which is slower for a subject + level.
        taught = sa.select(TutorSubject.tutor_id).where(*conditions).scalar_subquery()
        return stmt.where(TutorProfile.user_id == sa.any_(sa.func.array(taught)))
    taught = sa.select(1).where(TutorSubject.tutor_id == TutorProfile.user_id, *conditions)
    return stmt.where(taught.exists())


SELECTIVE_FILTERS = ("subject", "near", "q")


def _ordering(filters, distance):
    """The requested order as SortKeys; the tutor id always ends it, so pages never overlap."""
    if any(filters.get(name) for name in SELECTIVE_FILTERS):
        # Same order, but not the ix_tutor_profiles_rank expression: with a selective filter PostgreSQL should
        # collect the few matching rows and sort them, not walk the rank index hoping to meet 20 matches early.
        by_rating = [SortKey(sa.func.coalesce(TutorProfile.rating_bayes, -1.0), descending=True),
                     SortKey(TutorProfile.user_id)]
    else:
        by_rating = [SortKey(TutorProfile.rating_bayes, descending=True, nulls_last=True), SortKey(TutorProfile.user_id)]
    sort = filters.get("sort", "relevance")
    if sort == "price":
        return [SortKey(TutorProfile.rate_cents), SortKey(TutorProfile.user_id)]
    if sort == "distance":
        return [SortKey(distance), SortKey(TutorProfile.user_id)]
    if sort == "relevance" and filters.get("q") and is_postgres():
        return [SortKey(text_rank(filters["q"]), descending=True), *by_rating]
    return by_rating


CARD_COLUMNS = (
    TutorProfile.user_id.label("id"), User.full_name, TutorProfile.headline, TutorProfile.rate_cents,
    TutorProfile.currency, TutorProfile.mode, TutorProfile.city, TutorProfile.country, TutorProfile.languages,
    TutorProfile.teaching_styles, TutorProfile.years_experience, TutorProfile.offers_trial, TutorProfile.verified,
    TutorProfile.rating_avg, TutorProfile.rating_count, TutorProfile.rating_bayes, TutorProfile.latitude,
    TutorProfile.longitude, TutorProfile.travel_radius_km,
)


class TutorCard(SimpleNamespace):
    """What a result shows of a tutor, read with plain columns (TutorCardSchema dumps it like a TutorProfile)."""


def load_cards(ids, columns=CARD_COLUMNS):
    """Cards for ``ids`` in that order (missing ids skipped): one query for the columns, one for the subjects."""
    if not ids:
        return []
    rows = db.session.execute(sa.select(*columns).join(User, User.id == TutorProfile.user_id)
                              .where(id_in(TutorProfile.user_id, ids))).all()
    cards = {row.id: TutorCard(**row._asdict(), subjects=[]) for row in rows}
    for tutor_id, subject in subjects_of(list(cards)):
        cards[tutor_id].subjects.append(subject)
    return [cards[tutor_id] for tutor_id in ids if tutor_id in cards]


def subjects_of(tutor_ids):
    """(tutor_id, subject row with .subject.slug/.subject.name/.level), in profile order, for these tutors."""
    rows = db.session.execute(
        sa.select(TutorSubject.tutor_id, TutorSubject.subject_id, TutorSubject.level, Subject.slug, Subject.name)
        .join(Subject, Subject.id == TutorSubject.subject_id).where(id_in(TutorSubject.tutor_id, tutor_ids))
        .order_by(TutorSubject.tutor_id, TutorSubject.subject_id, TutorSubject.level))
    for row in rows:
        subject = SimpleNamespace(id=row.subject_id, slug=row.slug, name=row.name)
        yield row.tutor_id, SimpleNamespace(subject_id=row.subject_id, subject=subject, level=row.level)


def with_distances(profiles, near):
    """Attach distance_km to a page of results when the search had a point."""
    if near:
        for profile in profiles:
            if profile.latitude is not None:
                profile.distance_km = round(distance_km(near[0], near[1], profile.latitude, profile.longitude), 2)
    return profiles
