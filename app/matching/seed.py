"""Demo match log and model: simulated match responses and outcomes for the demo students over the listed tutors
(app/matching/simulation.py), each logged under its student's A/B arm (so both arms have figures), then one
trained model, so `flask matching train` and `evaluate` work on the demo and learned-arm students see a model
version. Skipped when a model exists (running the seed twice changes nothing)."""
import sqlalchemy as sa

from app.common.transactions import unit_of_work
from app.extensions import db
from app.matching import learning, simulation
from app.matching.models import MatchModel
from app.tutors.models import Subject, TutorProfile, TutorSubject
from app.users import services as users
from app.users.models import User

DEMO_REQUESTS = 600


def seed_match_log():
    """Returns the demo model's version (None when there are no demo students or tutors)."""
    existing = db.session.scalar(sa.select(sa.func.max(MatchModel.version)))
    if existing is not None:
        return existing
    # every demo student (the named ones and the marketplace's), so both A/B arms have some by the stable hash
    students = db.session.scalars(users.admin_user_query(role="student").with_only_columns(User.id)).all()
    tutors = db.session.scalars(sa.select(TutorProfile.user_id).order_by(TutorProfile.user_id)).all()
    if not students or len(tutors) < 3:
        return None
    with unit_of_work():
        simulation.simulate(students, tutors, DEMO_REQUESTS, seed=7, explore_rate=0.3, subjects=_subjects(),
                            learned_share=learning.learned_share())
    with unit_of_work():
        return learning.train().version


def _subjects():
    """The slugs of the subjects the listed tutors teach (the demo responses' subjects)."""
    return tuple(db.session.scalars(sa.select(Subject.slug).join(TutorSubject, TutorSubject.subject_id == Subject.id)
                                    .distinct().order_by(Subject.slug))) or ("simulated",)
