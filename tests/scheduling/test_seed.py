"""The demo seeder gives the demo tutors hours and settings, idempotently."""
import sqlalchemy as sa

from app.extensions import db
from app.scheduling.models import AvailabilityRule, SchedulingSettings
from app.seed import seed_demo


def test_seed_demo_availability_is_idempotent(app):
    users = seed_demo()
    seed_demo()
    maria = users["maria.garcia@tutorhub.test"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SchedulingSettings)) == 3
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AvailabilityRule)
                             .where(AvailabilityRule.tutor_id == maria.id)) == 10
    assert db.session.get(SchedulingSettings, users["james.okafor@tutorhub.test"].id).instant_booking is True
