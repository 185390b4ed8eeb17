"""GET /tutors: each filter returns exactly the tutors it should."""
import json

import pytest
import sqlalchemy as sa

from tests.conftest import assert_error
from tests.factories import (
    SubjectFactory,
    TutorProfileFactory,
    TutorSubjectFactory,
    UserFactory,
)
from tests.matching.helpers import transaction_ends

PARIS = "48.8566,2.3522"


def _tutor(name, subjects, **fields):
    profile = TutorProfileFactory(user=UserFactory(roles=fields.pop("roles", ["tutor"]), full_name=name,
                                                   is_active=fields.pop("is_active", True)), **fields)
    for slug, level in subjects:
        TutorSubjectFactory(profile=profile, subject=SubjectFactory(slug=slug), level=level)
    return profile


@pytest.fixture
def tutors(app):
    alice = _tutor("Alice Archer", [("mathematics", "university")], rate_cents=3000, mode="online",
                   languages=["en", "fr"], teaching_styles=["visual"], verified=True, rating_avg=4.8,
                   rating_bayes=4.6, rating_count=20, headline="Calculus and linear algebra coach",
                   bio="I love proofs.")
    bruno = _tutor("Bruno Berger", [("biology", "secondary")], rate_cents=5000, mode="in_person",
                   latitude=48.8566, longitude=2.3522, city="Paris", country="FR", languages=["fr"],
                   teaching_styles=["kinesthetic"], rating_avg=3.9, rating_bayes=3.8, rating_count=5,
                   headline="Biology with experiments", bio="Lab work every lesson.")
    chloe = _tutor("Chloe Chen", [("mathematics", "secondary"), ("chemistry", "university")], rate_cents=2000,
                   mode="both", latitude=48.8049, longitude=2.1204, city="Versailles", country="FR",
                   languages=["en"], teaching_styles=["visual", "auditory"], verified=True,
                   headline="Chemistry and maths", bio="Patient and structured.")
    dan = _tutor("Dan Doyle", [("mathematics", "primary")], rate_cents=8000, currency="EUR", mode="both",
                 latitude=51.5074, longitude=-0.1278, city="London", country="GB", languages=["en"],
                 teaching_styles=["reading"], rating_avg=4.2, rating_bayes=4.0, rating_count=8,
                 headline="Primary maths", bio="Times tables without tears.")
    _tutor("Ivy Inactive", [("mathematics", "university")], is_active=False, headline="Calculus")
    _tutor("Sid Student", [("mathematics", "university")], roles=["student"], headline="Calculus")
    return {"alice": alice.user_id, "bruno": bruno.user_id, "chloe": chloe.user_id, "dan": dan.user_id}


def names(client, query=""):
    response = client.get(f"/api/v1/tutors{query}")
    assert response.status_code == 200, response.get_json()
    return [card["full_name"].split()[0].lower() for card in response.get_json()]


@pytest.mark.parametrize("query,expected", [
    ("", ["alice", "dan", "bruno", "chloe"]),
    ("?sort=rating", ["alice", "dan", "bruno", "chloe"]),
    ("?sort=price&currency=USD", ["chloe", "alice", "bruno"]),
    ("?sort=price&currency=EUR", ["dan"]),
    ("?subject=mathematics", ["alice", "dan", "chloe"]),
    ("?subject=mathematics&level=secondary", ["chloe"]),
    ("?level=university", ["alice", "chloe"]),
    ("?min_rate=2500&max_rate=5000&currency=USD", ["alice", "bruno"]),
    ("?max_rate=2000&currency=USD", ["chloe"]),
    ("?min_rate=5000&currency=EUR", ["dan"]),
    ("?currency=EUR", ["dan"]),
    ("?min_rating=4.0", ["alice", "dan"]),
    ("?mode=online", ["alice", "dan", "chloe"]),
    ("?mode=in_person", ["dan", "bruno", "chloe"]),
    ("?mode=both", ["dan", "chloe"]),
    (f"?near={PARIS}&radius_km=20", ["bruno", "chloe"]),
    (f"?near={PARIS}&radius_km=20&sort=distance", ["bruno", "chloe"]),
    (f"?near={PARIS}&radius_km=400&sort=distance", ["bruno", "chloe", "dan"]),
    (f"?near={PARIS}&radius_km=10", ["bruno"]),
    ("?lat=51.5&lon=-0.12&radius_km=5", ["dan"]),
    ("?language=fr", ["alice", "bruno"]),
    ("?teaching_style=visual", ["alice", "chloe"]),
    ("?verified_only=true", ["alice", "chloe"]),
    ("?q=calculus", ["alice"]),
    ("?q=chen", ["chloe"]),
    ("?q=experiments", ["bruno"]),
    ("?q=nonexistentword", []),
    ("?subject=mathematics&mode=both&verified_only=true&language=en", ["chloe"]),
])
def test_each_filter_returns_exactly_the_expected_tutors(client, tutors, query, expected):
    assert names(client, query) == expected


def test_near_results_carry_distance(client, tutors):
    cards = client.get(f"/api/v1/tutors?near={PARIS}&radius_km=20&sort=distance").get_json()
    assert cards[0]["distance_km"] == 0.0
    assert 16 < cards[1]["distance_km"] < 19
    assert "distance_km" not in client.get("/api/v1/tutors").get_json()[0]


def test_card_shape(client, tutors):
    card = client.get("/api/v1/tutors?q=calculus").get_json()[0]
    assert card["id"] == tutors["alice"] and card["verified"] is True
    assert card["subjects"] == [{"slug": "mathematics", "name": "Mathematics", "level": "university"}]
    assert card["rating"] == {"average": 4.8, "count": 20, "bayesian": 4.6}
    assert "latitude" not in card and "email" not in card


def test_pagination(client, tutors):
    response = client.get("/api/v1/tutors?page_size=2&page=2")
    assert [card["full_name"] for card in response.get_json()] == ["Bruno Berger", "Chloe Chen"]
    assert json.loads(response.headers["X-Pagination"])["total"] == 4


@pytest.mark.parametrize("query,field", [
    ("?subject=astrology", "subject"),
    ("?min_rate=5000&max_rate=100&currency=USD", "min_rate"),
    ("?min_rate=2500", "currency"),
    ("?max_rate=5000", "currency"),
    ("?sort=price", "currency"),
    ("?max_rate=5000&currency=usd", "currency"),
    ("?near=48.85", "near"),
    ("?near=north,south", "near"),
    ("?lat=48.85", "lat"),
    ("?lon=2.35", "lon"),
    (f"?near={PARIS}&radius_km=501", "radius_km"),
    ("?radius_km=10", "radius_km"),
    ("?sort=distance", "sort"),
    ("?sort=cheapest", "sort"),
    ("?level=phd", "level"),
    ("?mode=teleport", "mode"),
    ("?teaching_style=telepathic", "teaching_style"),
    ("?min_rating=6", "min_rating"),
    ("?page_size=101", "page_size"),
    ("?available_start=2026-12-01T10:00:00", "available_start"),
    ("?available_start=2026-12-01T10:00:00%2B00:00", "available_start"),
    ("?available_start=2026-12-01T10:00:00%2B00:00&available_end=2026-12-01T09:00:00%2B00:00", "available_end"),
])
def test_bad_search_input_is_422(client, tutors, query, field):
    body = assert_error(client.get(f"/api/v1/tutors{query}"), 422)
    assert field in json.dumps(body["errors"])


def test_price_filters_without_a_currency_are_refused_not_compared_across_currencies(client, tutors):
    """Dan's 80.00 EUR and Chloe's 20.00 USD are different amounts: a bare max_rate would compare 8000 with 2000."""
    body = assert_error(client.get("/api/v1/tutors?max_rate=5000&sort=price"), 422)
    message = body["errors"]["currency"][0]
    assert "max_rate, sort" in message and "currency" in message


def test_unknown_subject_lists_valid_slugs(client, tutors):
    body = assert_error(client.get("/api/v1/tutors?subject=astrology"), 422)
    assert "biology, chemistry, mathematics" in body["errors"]["subject"][0]


def test_capped_total_is_a_lower_bound_that_keeps_next_page_right(client, tutors, monkeypatch):
    from app.matching import routes

    monkeypatch.setattr(routes, "SEARCH_COUNT_CAP", 2)
    first = client.get("/api/v1/tutors?page_size=1&page=1")
    assert [card["full_name"] for card in first.get_json()] == ["Alice Archer"]
    assert json.loads(first.headers["X-Pagination"])["total"] == 2  # lower bound: the cap
    third = client.get("/api/v1/tutors?page_size=1&page=3")
    assert [card["full_name"] for card in third.get_json()] == ["Bruno Berger"]
    meta = json.loads(third.headers["X-Pagination"])
    assert meta["total"] == 4 and meta["next_page"] == 4  # counted one past the page: there is a page 4
    last = client.get("/api/v1/tutors?page_size=1&page=4")
    assert [card["full_name"] for card in last.get_json()] == ["Chloe Chen"]
    meta = json.loads(last.headers["X-Pagination"])
    assert meta["total"] == 4 and "next_page" not in meta
    past = client.get("/api/v1/tutors?page_size=1&page=9")
    assert past.get_json() == [] and json.loads(past.headers["X-Pagination"])["total"] == 4


def test_cards_of_a_page_match_the_public_profile(client, tutors):
    """The page is read with plain columns; each card says what the tutor's public profile says."""
    for card in client.get("/api/v1/tutors?page_size=10").get_json():
        public = client.get(f"/api/v1/tutors/{card['id']}").get_json()
        assert {key: public[key] for key in card} == card


def test_listed_flag_follows_account_and_roles(client, tutors, app):
    """tutor_profiles.listed is kept by triggers: deactivation, role removal and their reversal show at once."""
    from app.extensions import db
    from app.tutors.models import TutorProfile
    from app.users.models import User

    def listed(user_id):
        return db.session.scalar(sa.select(TutorProfile.listed).where(TutorProfile.user_id == user_id))

    alice = db.session.get(User, tutors["alice"])
    alice.is_active = False
    db.session.commit()
    assert listed(alice.id) is False and "alice" not in names(client)
    assert client.get(f"/api/v1/tutors/{alice.id}").status_code == 404
    alice.is_active = True
    db.session.commit()
    assert listed(alice.id) is True and names(client)[0] == "alice"
    alice.roles = ["student"]
    db.session.commit()
    assert listed(alice.id) is False and "alice" not in names(client)
    alice.roles = ["student", "tutor"]
    db.session.commit()
    assert listed(alice.id) is True and "alice" in names(client)
    sid = db.session.scalar(sa.select(User).where(User.full_name == "Sid Student"))
    assert listed(sid.id) is False
    sid.roles = ["student", "tutor"]
    db.session.commit()
    assert "sid" in names(client, "?q=calculus")


def test_search_ends_its_read_only_transaction_with_commit(client, tutors):
    """So the teardown does not ROLLBACK (psycopg would deallocate the prepared search statements)."""
    with transaction_ends() as ends:
        assert names(client, "?sort=rating&subject=mathematics")
    assert ends == ["commit"]


def test_full_text_follows_profile_and_name_changes(client, tutors, app):
    """The searched vector (a stored generated column on PostgreSQL) is rewritten with the profile."""
    from app.common.transactions import unit_of_work
    from app.extensions import db
    from app.tutors.models import TutorProfile
    from app.users import services as users

    profile = db.session.get(TutorProfile, tutors["bruno"])
    profile.headline = "Botany walks"
    with unit_of_work():
        users.update_profile(profile.user, {"full_name": "Bruno Zephyrine"})
    assert names(client, "?q=experiments") == []
    assert names(client, "?q=botany") == ["bruno"]
    assert names(client, "?q=zephyrine") == ["bruno"]
