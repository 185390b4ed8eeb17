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


def test_seed_demo_gives_maria_one_out_of_office_week_suggesting_james(app):
    from app.scheduling.models import BusyBlock

    users = seed_demo()
    seed_demo()
    blocks = db.session.scalars(sa.select(BusyBlock).where(BusyBlock.source == "out_of_office")).all()
    assert len(blocks) == 1
    block = blocks[0]
    assert block.user_id == users["maria.garcia@tutorhub.test"].id
    assert block.colleague_id == users["james.okafor@tutorhub.test"].id and "Lisbon" in block.note
    assert (block.end_at - block.start_at).days == 7
