"""Booking events reach people in the app too (in-app list + ``notification:new``), and every notice names the
subject by its name, not its slug."""
from datetime import timedelta

import sqlalchemy as sa

from app.common.time import utcnow
from app.extensions import db
from app.notifications.models import Notification, OutboxMessage
from jobs.tasks import dispatch_due_outbox
from tests.factories import SubjectFactory, UserFactory
from tests.scheduling.conftest import iso, make_tutor


def _book(client, auth, tutor, student, start, subject):
    response = client.post("/api/v1/bookings", json={"tutor_id": tutor.id, "start": iso(start), "duration": 60,
                                                     "subject": subject}, headers=auth.headers(student))
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def _kinds(user):
    return [n.kind for n in db.session.scalars(sa.select(Notification).where(Notification.user_id == user.id)
                                               .order_by(Notification.id))]


def test_request_accept_reschedule_cancel_appear_in_app_with_subject_name(client, auth, monkeypatch):
    pushed = []
    monkeypatch.setattr("app.notifications.subscribers.sockets.emit",
                        lambda event, payload, rooms, **kw: pushed.append((event, payload.get("kind"), rooms)))
    SubjectFactory(slug="lin-alg", name="Linear Algebra")
    tutor = make_tutor(zone="UTC", weekdays=range(7), start="00:00", end="24:00", session_lengths=[60],
                       slot_interval_minutes=60, cancellation_window_hours=1)
    student = UserFactory()
    start = (utcnow() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    booking_id = _book(client, auth, tutor, student, start, "lin-alg")
    assert _kinds(tutor) == ["booking_requested"]
    notice = db.session.scalar(sa.select(Notification).where(Notification.user_id == tutor.id))
    assert "Linear Algebra" in notice.body and "lin-alg" not in notice.body
    assert notice.data == {"booking_id": booking_id, "state": "requested"}
    assert ("notification:new", "booking_requested", f"user:{tutor.id}") in pushed
    listed = client.get("/api/v1/notifications", headers=auth.headers(tutor)).get_json()
    assert [item["kind"] for item in listed] == ["booking_requested"]

    assert client.post(f"/api/v1/bookings/{booking_id}/accept", headers=auth.headers(tutor)).status_code == 200
    moved = client.post(f"/api/v1/bookings/{booking_id}/reschedule", json={"start": iso(start + timedelta(days=1))},
                        headers=auth.headers(student))
    assert moved.status_code == 200, moved.get_json()
    cancelled = client.post(f"/api/v1/bookings/{booking_id}/cancel", json={"reason": "Ill"},
                            headers=auth.headers(student))
    assert cancelled.status_code == 200, cancelled.get_json()
    assert "booking_confirmed" in _kinds(student) and "booking_cancelled" in _kinds(tutor)
    assert any(kind.startswith("booking_resched") for kind in _kinds(tutor))
    emails = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind.startswith("booking_"))).all()
    assert emails and all("Linear Algebra" in m.body_text and "lin-alg" not in m.body_text for m in emails)
    invite = next(m for m in emails if m.attachments)
    assert invite.kind.startswith("booking_")


def test_due_reminder_appears_in_app_once(client, auth):
    tutor = make_tutor(zone="UTC", weekdays=range(7), start="00:00", end="24:00", instant_booking=True,
                       session_lengths=[60], slot_interval_minutes=60)
    student = UserFactory()
    start = (utcnow() + timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    booking_id = _book(client, auth, tutor, student, start, "physics")
    assert "booking_reminder" not in _kinds(student)
    db.session.execute(sa.update(OutboxMessage).where(OutboxMessage.dedupe_key.startswith(f"reminder:{booking_id}:"))
                       .values(deliver_after=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    dispatch_due_outbox()
    dispatch_due_outbox()
    assert _kinds(student).count("booking_reminder") == 2  # the 24 h and the 1 h reminder, once each
    assert _kinds(tutor).count("booking_reminder") == 2
