"""Deliveries over real HTTP to a local receiver: signed, logged, retried with backoff, sent only to the owners an
event concerns, re-checked before each attempt."""
import json
import time
from datetime import datetime, timedelta

from app.common.events import publish
from app.common.time import utcnow
from app.common.transactions import unit_of_work
from app.extensions import queues
from app.notifications.models import Notification
from app.reviews import services as reviews
from app.webhooks import signing
from app.webhooks.models import Webhook, WebhookDelivery, WebhookEvent
from jobs import tasks
from tests.conftest import email_text, free_port, read_emails
from tests.factories import UserFactory, completed_booking
from tests.webhooks.conftest import FAKE_DNS

STUDENT_REVIEW = {"clarity": 5, "knowledge": 4, "responsiveness": 5, "punctuality": 4, "overall": 4,
                  "would_recommend": True, "comment": "Clear."}
TUTOR_REVIEW = {"preparedness": 4, "engagement": 5, "punctuality": 5, "private_note": "Never in the payload."}


def booking_payload(student_id, tutor_id, state="confirmed", booking_id=41):
    return {"booking_id": booking_id, "student_id": student_id, "tutor_id": tutor_id,
            "start_at": "2026-12-09T10:00:00+00:00", "end_at": "2026-12-09T11:00:00+00:00", "duration_minutes": 60,
            "subject": "calculus", "subject_name": "Calculus", "state": state, "previous_state": "requested",
            "actor_id": tutor_id, "by_admin": False}


def announce(name, **payload):
    with unit_of_work():
        publish(name, **payload)


def received(receiver, path_part=""):
    return [item for item in receiver.requests if path_part in item["path"]]


def test_a_delivery_is_signed_and_verifiable(hooks, receiver, owner, client, auth):
    hook = hooks.made(owner, receiver.url, ["booking.confirmed"])
    announce("booking.confirmed", **booking_payload(owner.id, UserFactory().id))
    [request] = receiver.requests
    headers, body = request["headers"], request["body"]
    assert signing.verify(hook["secret"], headers["Tutorhub-Signature"], body)
    assert not signing.verify("whsec_wrong", headers["Tutorhub-Signature"], body)
    assert not signing.verify(hook["secret"], headers["Tutorhub-Signature"], body + b" ")
    timestamp = int(headers["Tutorhub-Signature"].split(",")[0][2:])
    assert abs(timestamp - time.time()) < 60
    assert not signing.verify(hook["secret"], headers["Tutorhub-Signature"], body, now=timestamp + 301)  # replay
    event = json.loads(body)
    assert set(event) == {"id", "type", "created_at", "data"}
    assert event["type"] == "booking.confirmed" and event["id"] == headers["Tutorhub-Event-Id"]
    assert event["id"].startswith("evt_") and headers["Tutorhub-Event-Type"] == "booking.confirmed"
    assert event["data"]["booking_id"] == 41 and "actor_id" not in event["data"]
    [log] = hooks.deliveries(owner, hook["id"])
    assert (log["event_id"], log["event_type"], log["status"], log["attempts"]) == (event["id"], "booking.confirmed",
                                                                                    "delivered", 1)
    assert log["response_code"] == 200 and log["duration_ms"] >= 0 and log["next_retry_at"] is None
    assert [(a["number"], a["response_code"]) for a in log["attempt_log"]] == [(1, 200)]


def test_rotated_secret_signs_the_next_delivery(hooks, receiver, owner, client, auth):
    hook = hooks.made(owner, receiver.url)
    rotated = client.post(f"/api/v1/webhooks/{hook['id']}/rotate-secret", headers=auth.headers(owner)).get_json()
    response = client.post(f"/api/v1/webhooks/{hook['id']}/ping", headers=auth.headers(owner))
    assert response.status_code == 202 and response.get_json()["event_type"] == "webhook.ping"
    [request] = receiver.requests
    assert signing.verify(rotated["secret"], request["headers"]["Tutorhub-Signature"], request["body"])
    assert not signing.verify(hook["secret"], request["headers"]["Tutorhub-Signature"], request["body"])
    assert json.loads(request["body"])["data"] == {"webhook_id": hook["id"]}


def test_failing_twice_then_ok_is_retried_with_backoff(app, hooks, receiver, owner, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOKS_RETRY_BASE_SECONDS", 0.3)
    receiver.statuses = [500, 503]
    hook = hooks.made(owner, receiver.url)
    announce("booking.confirmed", **booking_payload(owner.id, UserFactory().id))
    [log] = hooks.deliveries(owner, hook["id"])
    assert (log["status"], log["attempts"], log["response_code"]) == ("retrying", 1, 500)
    assert log["error"] == "HTTP 500"
    assert tasks.dispatch_due_webhooks() == 0  # not due yet: the backoff holds it
    time.sleep(0.35)
    assert tasks.dispatch_due_webhooks() == 1
    [log] = hooks.deliveries(owner, hook["id"])
    assert (log["status"], log["attempts"], log["response_code"]) == ("retrying", 2, 503)
    first, second = log["attempt_log"]
    assert second["attempted_at"] > first["attempted_at"]
    wait = datetime.fromisoformat(log["next_retry_at"]) - datetime.fromisoformat(second["attempted_at"])
    assert wait == timedelta(seconds=0.6)  # doubled
    time.sleep(0.65)
    assert tasks.dispatch_due_webhooks() == 1
    [log] = hooks.deliveries(owner, hook["id"])
    assert (log["status"], log["attempts"], log["response_code"], log["error"]) == ("delivered", 3, 200, None)
    assert [a["response_code"] for a in log["attempt_log"]] == [500, 503, 200]
    ids = {request["headers"]["Tutorhub-Event-Id"] for request in receiver.requests}
    assert len(receiver.requests) == 3 and len(ids) == 1  # one stable event id across retries
    assert [r["headers"]["Tutorhub-Delivery-Attempt"] for r in receiver.requests] == ["1", "2", "3"]


def test_out_of_attempts_fails_and_a_failing_webhook_is_disabled(app, hooks, receiver, owner, client, auth,
                                                                 monkeypatch, db, outbox_dir):
    monkeypatch.setitem(app.config, "WEBHOOKS_RETRY_BASE_SECONDS", 0)
    monkeypatch.setitem(app.config, "WEBHOOKS_MAX_ATTEMPTS", 2)
    monkeypatch.setitem(app.config, "WEBHOOKS_DISABLE_AFTER_FAILURES", 2)
    receiver.statuses = [500] * 10
    hook = hooks.made(owner, receiver.url)
    for booking_id in (1, 2):
        announce("booking.confirmed", **booking_payload(owner.id, UserFactory().id, booking_id=booking_id))
        tasks.dispatch_due_webhooks()
    logs = hooks.deliveries(owner, hook["id"])
    assert [(log["status"], log["attempts"]) for log in logs] == [("failed", 2), ("failed", 2)]
    shown = client.get(f"/api/v1/webhooks/{hook['id']}", headers=auth.headers(owner)).get_json()
    assert shown["active"] is False and "2 failed deliveries" in shown["disabled_reason"]
    [notice] = db.session.query(Notification).filter_by(user_id=owner.id, kind="webhook_disabled").all()
    assert notice.data == {"webhook_id": hook["id"]} and receiver.url in notice.body
    [mail] = [m for m in read_emails(outbox_dir) if m["To"] == owner.email]
    assert mail["Subject"] == "A webhook was disabled" and "active" in email_text(mail)
    announce("booking.confirmed", **booking_payload(owner.id, UserFactory().id, booking_id=3))
    assert len(hooks.deliveries(owner, hook["id"])) == 2  # a disabled webhook gets nothing new
    body = client.patch(f"/api/v1/webhooks/{hook['id']}", headers=auth.headers(owner), json={"active": True})
    assert body.get_json()["active"] is True and body.get_json()["failure_streak"] == 0
    assert body.get_json()["disabled_reason"] is None


def test_redirects_are_not_followed_and_refused_connections_retry(app, hooks, receiver, owner, allow_private):
    receiver.statuses = [302]
    hook = hooks.made(owner, receiver.url)
    announce("booking.confirmed", **booking_payload(owner.id, UserFactory().id))
    [log] = hooks.deliveries(owner, hook["id"])
    assert (log["status"], log["response_code"], log["error"]) == ("retrying", 302, "HTTP 302")
    assert len(receiver.requests) == 1
    dead = hooks.made(owner, f"http://127.0.0.1:{free_port()}/hook")
    announce("booking.confirmed", **booking_payload(owner.id, UserFactory().id))
    [log] = hooks.deliveries(owner, dead["id"])
    assert log["status"] == "retrying" and log["response_code"] is None
    assert log["error"].startswith("Connection failed")


def test_delivery_only_to_the_owners_an_event_concerns(hooks, receiver, owner, db):
    tutor, stranger, admin, admin_own = UserFactory(), UserFactory(), UserFactory(roles=["admin"]), \
        UserFactory(roles=["admin"])
    hooks.made(owner, receiver.url + "?who=student", ["booking.confirmed", "payments.deposit_captured"])
    hooks.made(tutor, receiver.url + "?who=tutor", ["booking.cancelled"])
    hooks.made(stranger, receiver.url + "?who=stranger", ["booking.confirmed", "payments.deposit_captured"])
    hooks.made(admin, receiver.url + "?who=admin_all", ["booking.confirmed"], scope="all")
    hooks.made(admin_own, receiver.url + "?who=admin_own", ["booking.confirmed"])
    announce("booking.confirmed", **booking_payload(owner.id, tutor.id))
    announce("payments.deposit_captured", deposit_id=5, user_id=owner.id, amount_minor=2500, currency="USD")
    announce("payments.deposit_captured", deposit_id=6, user_id=tutor.id, amount_minor=100, currency="USD")
    announce("booking.rejected", **booking_payload(owner.id, tutor.id, state="rejected"))  # not subscribable
    got = sorted((r["path"].split("who=")[1], json.loads(r["body"])["type"]) for r in receiver.requests)
    assert got == [("admin_all", "booking.confirmed"), ("student", "booking.confirmed"),
                   ("student", "payments.deposit_captured")]
    deposit = next(json.loads(r["body"]) for r in receiver.requests if b"deposit" in r["body"])
    assert deposit["data"] == {"deposit_id": 5, "user_id": owner.id, "amount_minor": 2500, "currency": "USD"}
    assert db.session.query(WebhookEvent).count() == 2  # none written for the events nobody wanted


def _async_queues(app, monkeypatch):
    """Queues that only enqueue (no inline run), on the test's Redis, for this test."""
    from rq import Queue

    connection = app.extensions["redis"]
    monkeypatch.setitem(app.extensions, "queues",
                        {name: Queue(name, connection=connection, is_async=True) for name in ("high", "default", "low")})
    return app.extensions["queues"]


def test_the_owner_is_authorized_again_at_delivery(app, hooks, receiver, owner, monkeypatch, db):
    admin = UserFactory(roles=["admin"])
    hooks.made(owner, receiver.url + "?who=student")
    hooks.made(admin, receiver.url + "?who=admin", scope="all")
    _async_queues(app, monkeypatch)
    announce("booking.confirmed", **booking_payload(owner.id, UserFactory().id))
    assert queues["default"].count == 2 and receiver.requests == []
    owner.is_active = False
    admin.roles = ["student"]
    db.session.commit()
    assert tasks.dispatch_due_webhooks() == 2
    assert receiver.requests == []
    statuses = db.session.query(WebhookDelivery.status).all()
    assert sorted(status for (status,) in statuses) == ["skipped", "skipped"]


def test_an_address_changed_after_registration_is_refused_at_delivery(app, hooks, owner, fake_dns, monkeypatch, db):
    monkeypatch.setitem(FAKE_DNS, "flip.example.com", ["93.184.215.14"])
    hook = hooks.made(owner, "https://flip.example.com/hook")
    monkeypatch.setitem(FAKE_DNS, "flip.example.com", ["127.0.0.1"])  # DNS rebinding
    announce("booking.confirmed", **booking_payload(owner.id, UserFactory().id))
    [log] = hooks.deliveries(owner, hook["id"])
    assert log["status"] == "retrying" and log["response_code"] is None
    assert log["error"].startswith("Refused: The host flip.example.com resolves to a loopback address")


def test_published_reviews_reach_the_parties_webhooks(hooks, receiver, db):
    booking = completed_booking()
    hook = hooks.made(booking.student, receiver.url, ["review.published"])
    with unit_of_work():
        reviews.create_review(booking.student, booking.id, dict(STUDENT_REVIEW))
    assert receiver.requests == []  # double-blind: not released yet
    with unit_of_work():
        reviews.create_review(booking.tutor, booking.id, dict(TUTOR_REVIEW))
    events = [json.loads(r["body"]) for r in receiver.requests]
    assert sorted(e["data"]["author_role"] for e in events) == ["student", "tutor"]
    assert all(e["type"] == "review.published" and e["data"]["booking_id"] == booking.id for e in events)
    assert b"Never in the payload" not in b"".join(r["body"] for r in receiver.requests)
    assert len(hooks.deliveries(booking.student, hook["id"])) == 2


def test_a_claimed_delivery_is_not_sent_twice(app, hooks, receiver, owner, monkeypatch, db):
    hooks.made(owner, receiver.url)
    _async_queues(app, monkeypatch)
    announce("booking.confirmed", **booking_payload(owner.id, UserFactory().id))
    delivery_id = db.session.query(WebhookDelivery.id).scalar()
    assert tasks.deliver_webhook(delivery_id) == "delivered"
    assert tasks.deliver_webhook(delivery_id) is None
    assert tasks.dispatch_due_webhooks() == 0
    assert len(receiver.requests) == 1


def test_a_worker_on_redis_runs_the_jobs_and_their_retries(app, hooks, receiver, owner, monkeypatch, db):
    """RQ's SimpleWorker (with its scheduler, for the backoff) runs deliver_webhook from the queue."""
    from rq import SimpleWorker

    monkeypatch.setitem(app.config, "WEBHOOKS_RETRY_BASE_SECONDS", 1)
    receiver.statuses = [500, 500]
    hook = hooks.made(owner, receiver.url)
    named = _async_queues(app, monkeypatch)
    announce("booking.confirmed", **booking_payload(owner.id, UserFactory().id))
    assert receiver.requests == [] and named["default"].count == 1
    worker = SimpleWorker(list(named.values()), connection=app.extensions["redis"])
    deadline = time.monotonic() + 20
    while len(receiver.requests) < 3 and time.monotonic() < deadline:
        worker.work(burst=True, with_scheduler=True)
        time.sleep(0.2)
    db.session.expire_all()
    [log] = hooks.deliveries(owner, hook["id"])
    assert (log["status"], log["attempts"]) == ("delivered", 3)
    assert [a["response_code"] for a in log["attempt_log"]] == [500, 500, 200]
    times = [datetime.fromisoformat(a["attempted_at"]) for a in log["attempt_log"]]
    assert times[1] - times[0] >= timedelta(seconds=1) and times[2] - times[1] >= timedelta(seconds=2)  # backoff
    assert db.session.get(Webhook, hook["id"]).failure_streak == 0


def test_a_real_booking_transition_is_delivered(hooks, receiver, db):
    """scheduling's own booking.completed (not a hand-made payload) reaches the student's and the tutor's webhooks."""
    from app.scheduling import services as scheduling
    from tests.factories import BookingFactory

    booking = BookingFactory(state="in_progress", start_at=utcnow().replace(microsecond=0) - timedelta(hours=1))
    hooks.made(booking.student, receiver.url + "?who=student", ["booking.completed"])
    hooks.made(booking.tutor, receiver.url + "?who=tutor", ["booking.completed", "booking.confirmed"])
    with unit_of_work():
        scheduling.mark(booking.tutor, booking.id, "complete")
    events = sorted(((r["path"].split("who=")[1]), json.loads(r["body"])) for r in receiver.requests)
    assert [who for who, _ in events] == ["student", "tutor"]
    data = events[0][1]["data"]
    assert events[0][1]["type"] == "booking.completed" and events[0][1]["id"] == events[1][1]["id"]
    assert (data["booking_id"], data["state"], data["previous_state"]) == (booking.id, "completed", "in_progress")
    assert (data["student_id"], data["tutor_id"], data["subject"]) == (booking.student_id, booking.tutor_id,
                                                                      "calculus")


def test_finished_deliveries_are_purged_after_the_retention(app, hooks, receiver, owner, db, monkeypatch):
    receiver.statuses = [500]
    hook = hooks.made(owner, receiver.url)
    announce("booking.confirmed", **booking_payload(owner.id, UserFactory().id, booking_id=1))  # retrying
    announce("booking.confirmed", **booking_payload(owner.id, UserFactory().id, booking_id=2))  # delivered
    assert tasks.purge_webhook_delivery_log() == 0
    monkeypatch.setitem(app.config, "WEBHOOKS_LOG_RETENTION_DAYS", 0)
    time.sleep(0.01)
    assert tasks.purge_webhook_delivery_log() == 1
    [left] = hooks.deliveries(owner, hook["id"])
    assert left["status"] == "retrying"  # an open delivery is never purged
    assert db.session.query(WebhookEvent).count() == 1
