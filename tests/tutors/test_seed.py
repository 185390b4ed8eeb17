"""The demo seeder gives the demo tutors searchable profiles, and a second run changes nothing."""
import sqlalchemy as sa

from app.seed import seed_demo
from app.tutors.models import TutorProfile, TutorSubject


def test_seed_demo_gives_tutors_profiles_idempotently(client, db):
    seed_demo()
    first = {p.search_name: (p.mode, p.rate_cents, p.currency, p.city) for p in db.session.scalars(sa.select(TutorProfile))}
    subject_rows = db.session.scalar(sa.select(sa.func.count()).select_from(TutorSubject))
    seed_demo()
    db.session.expire_all()
    again = {p.search_name: (p.mode, p.rate_cents, p.currency, p.city) for p in db.session.scalars(sa.select(TutorProfile))}
    assert first == again == {
        "María García": ("both", 4500, "EUR", "Madrid"),
        "James Okafor": ("online", 6000, "USD", "New York"),
        "Yuki Tanaka": ("both", 3500, "JPY", "Tokyo"),
    }
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TutorSubject)) == subject_rows == 9
    found = client.get("/api/v1/tutors?subject=test-prep-jlpt").get_json()
    assert [card["full_name"] for card in found] == ["Yuki Tanaka"]
    near_madrid = client.get("/api/v1/tutors?near=40.45,-3.69&radius_km=10").get_json()
    assert [card["full_name"] for card in near_madrid] == ["María García"]
