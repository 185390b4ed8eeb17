"""Tutors' services leave the commit to the caller's unit of work, own the profile's rating columns, and delete a
withdrawn document's file only once the withdrawal is committed."""
import io

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from app.common import storage
from app.common.errors import NotFound
from app.common.transactions import unit_of_work
from app.tutors import services
from app.tutors.models import TutorDocument, TutorProfile
from tests.factories import SubjectFactory, TutorProfileFactory, UserFactory
from tests.tutors.conftest import PDF


class Rollback(Exception):
    pass


def _profile_row(db, tutor_id):
    db.session.expire_all()
    return db.session.get(TutorProfile, tutor_id)


def test_save_profile_writes_nothing_until_the_unit_commits(app, db):
    SubjectFactory(slug="mathematics")
    tutor = UserFactory(roles=["tutor"])
    data = {"headline": "Maths", "rate_cents": 3000, "currency": "EUR", "mode": "online", "languages": ["en"],
            "teaching_styles": [], "subjects": [{"subject": "mathematics", "level": "secondary"}]}
    services.save_profile(tutor, data)
    db.session.rollback()
    assert db.session.get(TutorProfile, tutor.id) is None
    with unit_of_work():
        services.save_profile(tutor, data)
    db.session.rollback()
    assert db.session.get(TutorProfile, tutor.id).headline == "Maths"


def test_set_rating_summary_writes_the_profile_columns(app, db):
    profile = TutorProfileFactory()
    with unit_of_work():
        services.set_rating_summary(profile.user_id, count=3, average=4.5, bayes=4.1)
    row = _profile_row(db, profile.user_id)
    assert (row.rating_count, row.rating_avg, row.rating_bayes) == (3, 4.5, pytest.approx(4.1))
    with unit_of_work():
        services.set_rating_summary(profile.user_id, count=0, average=None, bayes=None)
        services.set_rating_summary(UserFactory().id, count=1, average=5.0, bayes=4.0)  # no profile: no change
    row = _profile_row(db, profile.user_id)
    assert (row.rating_count, row.rating_avg, row.rating_bayes) == (0, None, None)


def test_set_bayesian_ratings_rewrites_listed_profiles_in_one_statement(app, db):
    first, second, untouched = TutorProfileFactory(), TutorProfileFactory(), TutorProfileFactory(rating_bayes=2.0)
    ratings = sa.union_all(
        sa.select(sa.literal(first.user_id).label("tutor_id"), sa.literal(4.25).label("rating_bayes")),
        sa.select(sa.literal(second.user_id).label("tutor_id"), sa.literal(3.5).label("rating_bayes")),
    )
    with unit_of_work():
        assert services.set_bayesian_ratings(ratings) == 2
    assert _profile_row(db, first.user_id).rating_bayes == pytest.approx(4.25)
    assert _profile_row(db, second.user_id).rating_bayes == pytest.approx(3.5)
    assert _profile_row(db, untouched.user_id).rating_bayes == pytest.approx(2.0)


def _uploaded(tutor):
    with unit_of_work():
        return services.upload_document(tutor, "id_card", FileStorage(stream=io.BytesIO(PDF), filename="id.pdf"))


def test_a_withdrawn_document_keeps_its_file_until_the_withdrawal_commits(app, db):
    tutor = UserFactory(roles=["tutor"])
    document = _uploaded(tutor)
    key = document.storage_key
    with pytest.raises(Rollback), unit_of_work():
        services.delete_my_document(tutor, document.id)
        raise Rollback
    assert storage.open_path(key) is not None
    assert db.session.get(TutorDocument, document.id) is not None
    with unit_of_work():
        services.delete_my_document(tutor, document.id)
    assert db.session.get(TutorDocument, document.id) is None
    with pytest.raises(NotFound):
        storage.open_path(key)
