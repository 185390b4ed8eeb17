"""A tutor's own busy time and out-of-office periods: endpoints, slots/search/matching, students told."""
import json

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.notifications.models import Notification
from app.scheduling.models import BusyBlock
from tests.conftest import assert_error
from tests.factories import BookingFactory, BusyBlockFactory, TutorProfileFactory, UserFactory
from tests.scheduling.conftest import iso, make_tutor, utc
from tests.scheduling.helpers import messages

NOW = utc(2026, 12, 7, 2)
WEEK = (utc(2026, 12, 14), utc(2026, 12, 21))  # Monday to Monday


def slots(client, auth, tutor, start, end):
    response = client.get(f"/api/v1/tutors/{tutor.id}/slots", query_string={"start": iso(start), "end": iso(end)},
                          headers=auth.headers(tutor))
    assert response.status_code == 200, response.get_json()
    return response.get_json()["slots"]


def post(client, auth, user, path, body):
    return client.post(f"/api/v1/tutors/me/{path}", json=body, headers=auth.headers(user))


@pytest.fixture
def listed_tutor(app, freeze):
    freeze(NOW)
    tutor = make_tutor(zone="Europe/Paris", session_lengths=[60], slot_interval_minutes=60)
    TutorProfileFactory(user=tutor)
    return tutor


def test_a_busy_block_removes_its_slots_and_can_be_deleted(client, auth, listed_tutor):
    day = (utc(2026, 12, 15), utc(2026, 12, 16))
    assert len(slots(client, auth, listed_tutor, *day)) == 8  # 09:00-17:00 Paris
    response = post(client, auth, listed_tutor, "busy", {"start": "2026-12-15T10:00:00+01:00",
                                                         "end": "2026-12-15T12:00:00+01:00", "note": "Dentist"})
    assert response.status_code == 201, response.get_json()
    block = response.get_json()
    assert block["source"] == "manual" and block["note"] == "Dentist" and block["colleague_id"] is None
    assert len(slots(client, auth, listed_tutor, *day)) == 6
    listed = client.get("/api/v1/tutors/me/busy", headers=auth.headers(listed_tutor))
    assert [item["id"] for item in listed.get_json()] == [block["id"]]
    assert json.loads(listed.headers["X-Pagination"])["total"] == 1
    outside = client.get("/api/v1/tutors/me/busy", query_string={"start": "2026-12-16T00:00:00Z"},
                         headers=auth.headers(listed_tutor))
    assert outside.get_json() == []
    deleted = client.delete(f"/api/v1/tutors/me/busy/{block['id']}", headers=auth.headers(listed_tutor))
    assert deleted.status_code == 204
    assert len(slots(client, auth, listed_tutor, *day)) == 8
    assert_error(client.delete(f"/api/v1/tutors/me/busy/{block['id']}", headers=auth.headers(listed_tutor)), 404)


def test_an_out_of_office_week_empties_slots_search_and_matching(client, auth, listed_tutor):
    window = {"available_start": "2026-12-16T09:00:00Z", "available_end": "2026-12-16T12:00:00Z"}
    assert [card["id"] for card in client.get("/api/v1/tutors", query_string=window).get_json()] == [listed_tutor.id]
    assert slots(client, auth, listed_tutor, *WEEK)
    response = post(client, auth, listed_tutor, "out-of-office", {"start": iso(WEEK[0]), "end": iso(WEEK[1])})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["source"] == "out_of_office" and response.get_json()["told_booking_ids"] == []
    assert slots(client, auth, listed_tutor, *WEEK) == []
    assert client.get("/api/v1/tutors", query_string=window).get_json() == []
    from app.scheduling import services

    assert services.availability_fractions([listed_tutor.id], [(utc(2026, 12, 16, 9), utc(2026, 12, 16, 12)),
                                                               (utc(2026, 12, 22, 9), utc(2026, 12, 22, 12))]) \
        == {listed_tutor.id: 0.5}  # matching's availability part: the week after is free again


def test_students_of_sessions_in_the_period_are_told_once_each(client, auth, listed_tutor):
    colleague = make_tutor(zone="Europe/Paris")
    sam, lea, zoe = (UserFactory(full_name=name, timezone="Asia/Tokyo") for name in ("Sam S", "Lea L", "Zoe Z"))
    inside = [BookingFactory(tutor=listed_tutor, student=sam, start_at=utc(2026, 12, 15, 9), state="confirmed"),
              BookingFactory(tutor=listed_tutor, student=sam, start_at=utc(2026, 12, 17, 9), state="requested"),
              BookingFactory(tutor=listed_tutor, student=lea, start_at=utc(2026, 12, 18, 9), state="confirmed")]
    BookingFactory(tutor=listed_tutor, student=zoe, start_at=utc(2026, 12, 16, 9), state="cancelled")
    BookingFactory(tutor=listed_tutor, student=zoe, start_at=utc(2026, 12, 22, 9), state="confirmed")  # after
    response = post(client, auth, listed_tutor, "out-of-office", {
        "start": iso(WEEK[0]), "end": iso(WEEK[1]), "note": "Family matters", "colleague_id": colleague.id})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["told_booking_ids"] == [booking.id for booking in inside]
    notes = db.session.scalars(sa.select(Notification).where(Notification.kind == "tutor_out_of_office")
                               .order_by(Notification.user_id)).all()
    assert [note.user_id for note in notes] == sorted([sam.id, lea.id])
    sams = next(note for note in notes if note.user_id == sam.id)
    assert sams.data["booking_ids"] == [inside[0].id, inside[1].id]
    assert sams.data["colleague"] == {"id": colleague.id, "full_name": colleague.full_name}
    assert "Family matters" in sams.body and colleague.full_name in sams.body and "(Asia/Tokyo)" in sams.body
    emails = messages(kind="tutor_out_of_office")
    assert sorted(message.recipient for message in emails) == sorted([sam.email, lea.email])
    assert not messages(recipient=zoe.email, kind="tutor_out_of_office")


@pytest.mark.parametrize("path,body,field", [
    ("busy", {"start": "2026-12-15T10:00:00Z", "end": "2026-12-15T09:00:00Z"}, "end"),
    ("busy", {"start": "2026-12-15T10:00:00", "end": "2026-12-15T11:00:00Z"}, "start"),
    ("busy", {"start": "2026-12-01T10:00:00Z", "end": "2026-12-01T11:00:00Z"}, "end"),  # over already
    ("busy", {"start": "2026-12-15T10:00:00Z", "end": "2027-01-20T10:00:00Z"}, "end"),  # > 31 days
    ("busy", {"start": "2026-12-15T10:00:00Z", "end": "2026-12-15T11:00:00Z", "note": "x" * 501}, "note"),
    ("busy", {"start": "2026-12-15T10:00:00Z", "end": "2026-12-15T11:00:00Z", "colleague_id": 1}, "colleague_id"),
    ("out-of-office", {"start": "2026-12-15T10:00:00Z", "end": "2028-01-20T10:00:00Z"}, "end"),  # > 366 days
    ("out-of-office", {"start": "2026-12-15T10:00:00Z", "end": "2026-12-16T10:00:00Z", "colleague_id": 2 ** 40},
     "colleague_id"),
    ("out-of-office", {"start": "2026-12-15T10:00:00Z"}, "end"),
])
def test_bad_input_is_422(client, auth, listed_tutor, path, body, field):
    error = assert_error(post(client, auth, listed_tutor, path, body), 422)
    assert field in json.dumps(error["errors"])


def test_the_colleague_must_be_another_active_tutor(client, auth, listed_tutor):
    student = UserFactory(roles=["student"])
    inactive = make_tutor()
    inactive.is_active = False
    db.session.commit()
    for colleague_id in (listed_tutor.id, student.id, inactive.id, 999999):
        error = assert_error(post(client, auth, listed_tutor, "out-of-office", {
            "start": iso(WEEK[0]), "end": iso(WEEK[1]), "colleague_id": colleague_id}), 422)
        assert "colleague_id" in error["errors"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BusyBlock)) == 0


def test_other_users_blocks_and_synced_blocks(client, auth, listed_tutor):
    other = make_tutor()
    theirs = BusyBlockFactory(user_id=other.id, start_at=utc(2026, 12, 15, 9))
    synced = BusyBlockFactory(user_id=listed_tutor.id, start_at=utc(2026, 12, 15, 9), source="google")
    assert_error(client.delete(f"/api/v1/tutors/me/busy/{theirs.id}", headers=auth.headers(listed_tutor)), 404)
    assert_error(client.delete(f"/api/v1/tutors/me/busy/{synced.id}", headers=auth.headers(listed_tutor)), 409,
                 "google calendar")
    mine = client.get("/api/v1/tutors/me/busy", headers=auth.headers(listed_tutor)).get_json()
    assert [block["id"] for block in mine] == [synced.id]  # every source listed, only the caller's
    assert db.session.get(BusyBlock, theirs.id) is not None


def test_students_and_anonymous_callers_are_refused(client, auth, listed_tutor):
    student = UserFactory(roles=["student"])
    body = {"start": iso(WEEK[0]), "end": iso(WEEK[1])}
    assert_error(post(client, auth, student, "busy", body), 403)
    assert_error(post(client, auth, student, "out-of-office", body), 403)
    assert_error(client.get("/api/v1/tutors/me/busy"), 401)
    assert_error(client.post("/api/v1/tutors/me/out-of-office", json=body), 401)
    assert_error(client.delete("/api/v1/tutors/me/busy/1"), 401)


def test_a_booking_inside_busy_time_is_refused(client, auth, listed_tutor):
    student = UserFactory(roles=["student"])
    post(client, auth, listed_tutor, "busy", {"start": "2026-12-15T09:00:00Z", "end": "2026-12-15T10:00:00Z"})
    response = client.post("/api/v1/bookings", json={"tutor_id": listed_tutor.id, "start": "2026-12-15T09:00:00Z",
                                                     "duration": 60, "subject": "calculus"},
                           headers=auth.headers(student))
    assert assert_error(response, 409, "busy")["errors"] == {"start": ["The tutor is busy."]}


def test_sync_external_busy_upserts_deletes_and_keeps_own_blocks():
    """The calendar sync's door into busy_blocks: by (user, source, external id); a full sync drops the source's
    other blocks only; an unknown source is refused."""
    from app.common.errors import Invalid
    from app.common.transactions import unit_of_work
    from app.scheduling import services
    from tests.factories import TutorFactory

    tutor = TutorFactory()
    own = BusyBlockFactory(user_id=tutor.id, start_at=utc(2026, 12, 15, 9), source="manual")
    other_source = BusyBlockFactory(user_id=tutor.id, start_at=utc(2026, 12, 16, 9), source="outlook",
                                    external_id="o1")
    a, b = utc(2026, 12, 20, 9), utc(2026, 12, 20, 10)
    with unit_of_work():
        assert services.sync_external_busy(tutor.id, "google", [
            {"external_id": "e1", "start": a, "end": b, "removed": False},
            {"external_id": "e2", "start": b, "end": a, "removed": False},  # empty range: not busy
            {"external_id": "e3", "start": None, "end": None, "removed": True}]) == (1, 0)
    with unit_of_work():
        assert services.sync_external_busy(tutor.id, "google", [
            {"external_id": "e1", "start": a, "end": b, "removed": False}]) == (0, 0)  # unchanged: no event
    with unit_of_work():
        assert services.sync_external_busy(tutor.id, "google", [
            {"external_id": "e4", "start": a, "end": b, "removed": False}], full=True) == (1, 1)
    rows = db.session.scalars(sa.select(BusyBlock).order_by(BusyBlock.id)).all()
    assert [(r.source, r.external_id) for r in rows] == [("manual", None), ("outlook", "o1"), ("google", "e4")]
    assert {own.id, other_source.id} <= {r.id for r in rows}
    with pytest.raises(Invalid), unit_of_work():
        services.sync_external_busy(tutor.id, "manual", [])
