"""Demo match log and model: simulated match responses and outcomes for the demo students over the listed tutors
(app/matching/simulation.py), then one trained model, so `flask matching train` and `evaluate` work on the demo
and learned-arm students see a model version. Skipped when a model exists (running the seed twice changes
nothing)."""
import sqlalchemy as sa

from app.common.transactions import unit_of_work
from app.extensions import db
from app.matching import learning, simulation
from app.matching.models import MatchModel
from app.tutors.models import Subject, TutorProfile, TutorSubject

DEMO_REQUESTS = 600


def seed_match_log(users_by_email):
    """Returns the demo model's version (None when there are no demo students or tutors)."""
    existing = db.session.scalar(sa.select(sa.func.max(MatchModel.version)))
    if existing is not None:
        return existing
    students = sorted(user.id for user in users_by_email.values() if "student" in user.roles)
    tutors = db.session.scalars(sa.select(TutorProfile.user_id).order_by(TutorProfile.user_id)).all()
    if not students or len(tutors) < 3:
        return None
    with unit_of_work():
        simulation.simulate(students, tutors, DEMO_REQUESTS, seed=7, explore_rate=0.3, subjects=_subjects())
    with unit_of_work():
        return learning.train().version


def _subjects():
    """The slugs of the subjects the listed tutors teach (the demo responses' subjects)."""
    return tuple(db.session.scalars(sa.select(Subject.slug).join(TutorSubject, TutorSubject.subject_id == Subject.id)
                                    .distinct().order_by(Subject.slug))) or ("simulated",)
