"""Reminders: outbox rows moved by reschedule, dropped by cancel, delivered exactly once."""
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.common.time import utcnow
from app.extensions import db
from app.notifications.models import OutboxMessage
from jobs.tasks import dispatch_due_outbox
from tests.factories import UserFactory
from tests.scheduling.conftest import iso, make_tutor

SMS_STUDENT = {"preferences": {"sms_reminders": True}, "phone_number": "+14155550123"}


def reminder_rows(booking_id, status=None):
    stmt = sa.select(OutboxMessage).where(OutboxMessage.dedupe_key.startswith(f"reminder:{booking_id}:"))
    if status:
        stmt = stmt.where(OutboxMessage.status == status)
    return db.session.scalars(stmt.order_by(OutboxMessage.id)).all()


@pytest.fixture
def setup(client, auth):
    """A UTC tutor open all day with instant booking; a student opted in to SMS; a session in three days."""
    tutor = make_tutor(zone="UTC", weekdays=range(7), start="00:00", end="24:00", instant_booking=True,
                       session_lengths=[60], slot_interval_minutes=60, cancellation_window_hours=1)
    student = UserFactory(**SMS_STUDENT)
    start = (utcnow() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    response = client.post("/api/v1/bookings", json={"tutor_id": tutor.id, "start": iso(start), "duration": 60,
                                                     "subject": "physics"}, headers=auth.headers(student))
    assert response.status_code == 201, response.get_json()
    return tutor, student, start, response.get_json()["id"]


def test_confirmation_writes_reminders_for_both_and_sms_when_opted_in(app, setup):
    tutor, student, start, booking_id = setup
    rows = reminder_rows(booking_id)
    keys = sorted(row.dedupe_key for row in rows)
    assert keys == sorted(
        [f"reminder:{booking_id}:{offset}:v0:{user.id}:email" for offset in (1440, 60) for user in (tutor, student)]
        + [f"reminder:{booking_id}:{offset}:v0:{student.id}:sms" for offset in (1440, 60)]
    )
    by_key = {row.dedupe_key: row for row in rows}
    assert by_key[f"reminder:{booking_id}:1440:v0:{tutor.id}:email"].deliver_after == start - timedelta(hours=24)
    assert by_key[f"reminder:{booking_id}:60:v0:{student.id}:sms"].deliver_after == start - timedelta(hours=1)
    assert all(row.status == "pending" for row in rows)
    # The confirmation itself went out by email to both and by SMS to the opted-in student only.
    sms = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.channel == "sms",
                                                            OutboxMessage.kind == "booking_confirmed")).all()
    assert [(m.recipient, m.status) for m in sms] == [("+14155550123", "sent")]


def test_reschedule_moves_reminders_and_cancel_drops_them(client, auth, setup):
    tutor, student, start, booking_id = setup
    new_start = start + timedelta(days=1)
    response = client.post(f"/api/v1/bookings/{booking_id}/reschedule", json={"start": iso(new_start)},
                           headers=auth.headers(student))
    assert response.status_code == 200 and response.get_json()["sequence"] == 1
    assert {row.dedupe_key.split(":")[3] for row in reminder_rows(booking_id, "cancelled")} == {"v0"}
    pending = reminder_rows(booking_id, "pending")
    assert len(pending) == 6 and {row.dedupe_key.split(":")[3] for row in pending} == {"v1"}
    assert min(row.deliver_after for row in pending) == new_start - timedelta(hours=24)

    client.post(f"/api/v1/bookings/{booking_id}/cancel", json={"reason": "Exams"}, headers=auth.headers(tutor))
    assert reminder_rows(booking_id, "pending") == []
    # Even once they fall due, nothing is sent for the cancelled session.
    db.session.execute(sa.update(OutboxMessage).values(deliver_after=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    dispatch_due_outbox()
    assert reminder_rows(booking_id, "sent") == []


def _make_due(booking_id):
    db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.dedupe_key.startswith(f"reminder:{booking_id}:"))
                       .values(deliver_after=utcnow() - timedelta(seconds=1)))
    db.session.commit()


def test_due_reminders_are_sent_once(app, outbox_dir, setup):

    _tutor, _student, _start, booking_id = setup
    _make_due(booking_id)
    assert dispatch_due_outbox() == 6
    assert dispatch_due_outbox() == 0
    rows = reminder_rows(booking_id)
    assert [(row.status, row.attempts) for row in rows] == [("sent", 1)] * 6


def test_dead_workers_claim_is_taken_over_once(app, setup):
    _tutor, _student, _start, booking_id = setup
    _make_due(booking_id)
    rows = reminder_rows(booking_id)
    dead, alive = rows[0], rows[1]
    # One worker claimed a row and died ten minutes ago; another claimed a row a moment ago and is still sending.
    db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.id == dead.id)
                       .values(status="sending", claimed_at=utcnow() - timedelta(minutes=10), attempts=1))
    db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.id == alive.id)
                       .values(status="sending", claimed_at=utcnow(), attempts=1))
    db.session.commit()
    assert dispatch_due_outbox() == 5
    db.session.expire_all()
    assert (dead.status, dead.attempts) == ("sent", 2)
    assert alive.status == "sending"
    assert dispatch_due_outbox() == 0


@pytest.mark.postgres
def test_two_concurrent_dispatchers_never_send_twice(app, client, auth):
    tutor = make_tutor(zone="UTC", weekdays=range(7), start="00:00", end="24:00", instant_booking=True,
                       session_lengths=[60], slot_interval_minutes=60)
    base = (utcnow() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    booking_ids = []
    for hour in range(20):
        student = UserFactory()
        response = client.post("/api/v1/bookings", json={"tutor_id": tutor.id, "start": iso(base + timedelta(hours=hour)),
                                                         "duration": 60, "subject": "physics"}, headers=auth.headers(student))
        booking_ids.append(response.get_json()["id"])
    for booking_id in booking_ids:
        _make_due(booking_id)
    barrier = threading.Barrier(2)
    sent_by = []

    def dispatcher(_):
        with app.app_context():
            barrier.wait()
            total = 0
            while True:
                sent = dispatch_due_outbox(limit=7)
                total += sent
                if not sent:
                    break
            db.session.remove()
            return total

    with ThreadPoolExecutor(max_workers=2) as pool:
        sent_by = list(pool.map(dispatcher, range(2)))
    assert sum(sent_by) == 80  # 20 bookings × 2 offsets × 2 participants
    attempts = db.session.scalars(sa.select(OutboxMessage.attempts).where(OutboxMessage.kind == "booking_reminder")).all()
    assert len(attempts) == 80 and set(attempts) == {1}


def test_cancel_also_drops_a_reminder_a_dead_worker_claimed(client, auth, setup):
    tutor, _student, _start, booking_id = setup
    _make_due(booking_id)
    dead = reminder_rows(booking_id)[0]
    db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.id == dead.id)
                       .values(status="sending", claimed_at=utcnow() - timedelta(minutes=10), attempts=1))
    db.session.commit()
    client.post(f"/api/v1/bookings/{booking_id}/cancel", json={"reason": "Exams"}, headers=auth.headers(tutor))
    dispatch_due_outbox()
    assert reminder_rows(booking_id, "sent") == []
    assert {row.status for row in reminder_rows(booking_id)} == {"cancelled"}
