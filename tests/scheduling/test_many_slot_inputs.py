"""many_slot_inputs (search's one read for a chunk of tutors) answers what slot_inputs answers, tutor by tutor."""
from datetime import timedelta

from app.extensions import db
from tests.factories import UserFactory
from tests.scheduling.conftest import make_tutor
from tests.scheduling.test_slot_inputs_function import START, _populate


def test_many_slot_inputs_equal_slot_inputs_per_tutor(app):
    from app.scheduling import services

    tutor = make_tutor(daily_limit=3, weekly_limit=9, buffer_before_minutes=10)
    other_tutor = make_tutor(zone="Asia/Tokyo", session_lengths=[45, 30])
    _populate(tutor, other_tutor)
    plain = make_tutor(zone="Europe/Paris")
    student = UserFactory(roles=["student"])
    inactive = make_tutor()
    inactive.is_active = False
    db.session.commit()
    ids = [other_tutor.id, tutor.id, plain.id, student.id, inactive.id, 999999]
    for days in (1, 7, 30, 92):
        end = START + timedelta(days=days)
        window = ((START - timedelta(days=2)).date(), (end + timedelta(days=1)).date(), START - timedelta(days=1),
                  end + timedelta(days=1), START - timedelta(days=8), end + timedelta(days=8))
        many = services.many_slot_inputs(ids, *window)
        assert list(many) == ids
        for tutor_id in ids:
            policy, rules, overrides, busy, starts = many[tutor_id]
            one = services.slot_inputs(tutor_id, *window)
            assert policy == one[0]
            assert sorted(rules) == sorted(one[1]) and sorted(overrides) == sorted(one[2])
            assert sorted(busy) == sorted(one[3]) and sorted(starts) == sorted(one[4])
        assert many[tutor.id][3] and many[tutor.id][4] and many[student.id][0] is None
    assert services.many_slot_inputs([], *window) == {}
