"""Idempotency-Key on POST /bookings (Stripe semantics), through the reusable decorator."""
import threading
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from app.common.idempotency import IdempotencyKey
from app.extensions import db
from app.payments.models import LedgerTransaction
from app.scheduling import bookings
from app.scheduling.models import Booking
from tests.conftest import assert_error
from tests.factories import UserFactory, fund_wallet
from tests.payments.conftest import MONDAY_0900_EDT, balances, book, utc


def _count(model):
    count = db.session.scalar(sa.select(sa.func.count()).select_from(model))
    db.session.rollback()
    return count


def test_a_retry_with_the_same_key_and_body_replays_the_first_response(client, auth, march, tutor, student):
    key = {"Idempotency-Key": "book-1"}
    first = book(client, auth, student, tutor, headers=key)
    again = book(client, auth, student, tutor, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert _count(Booking) == 1
    assert balances(student.id) == {"wallet": 7000}
    hold = db.session.scalar(sa.select(LedgerTransaction).where(LedgerTransaction.kind == "booking_hold"))
    assert hold.idempotency_key == "book-1"


def test_the_same_key_with_another_body_is_422(client, auth, march, tutor, student):
    key = {"Idempotency-Key": "book-2"}
    assert book(client, auth, student, tutor, headers=key).status_code == 201
    response = book(client, auth, student, tutor, duration=30, headers=key)
    assert_error(response, 422, "another request")
    assert _count(Booking) == 1


def test_keys_belong_to_their_user(client, auth, march, tutor, student):
    other = UserFactory()
    fund_wallet(other, 5000)
    key = {"Idempotency-Key": "same"}
    assert book(client, auth, student, tutor, headers=key).status_code == 201
    assert book(client, auth, other, tutor, start=utc(2026, 3, 9, 15), headers=key).status_code == 201
    assert _count(Booking) == 2


def test_a_declined_payment_is_replayed_too_and_a_conflict_frees_the_key(client, auth, march, tutor):
    poor = UserFactory()
    key = {"Idempotency-Key": "poor-1"}
    assert book(client, auth, poor, tutor, headers=key).status_code == 402
    fund_wallet(poor, 5000)
    replay = book(client, auth, poor, tutor, headers=key)
    assert replay.status_code == 402 and replay.headers["Idempotent-Replayed"] == "true"
    # a 409 (the slot taken) is not stored: the same key may be retried
    rich = UserFactory()
    fund_wallet(rich, 5000)
    assert book(client, auth, rich, tutor).status_code == 201
    taken_key = {"Idempotency-Key": "taken"}
    assert book(client, auth, poor, tutor, headers=taken_key).status_code == 409
    assert _count(IdempotencyKey) == 1


def test_bad_keys_are_422(client, auth, march, tutor, student):
    for bad in ("x" * 256, "tab\there"):
        assert_error(book(client, auth, student, tutor, headers={"Idempotency-Key": bad}), 422, "Idempotency-Key")
    assert_error(book(client, auth, student, tutor, headers={"Idempotency-Key": ""}), 422)
    assert _count(Booking) == 0


def test_a_request_in_flight_with_the_key_is_409(app, auth, march, tutor, student, monkeypatch):
    entered, release = threading.Event(), threading.Event()
    original = bookings.create_booking

    def slow(*args, **kwargs):
        entered.set()
        assert release.wait(10)
        return original(*args, **kwargs)

    monkeypatch.setattr("app.scheduling.services.create_booking", slow)
    headers = {**auth.headers(student), "Idempotency-Key": "slow"}
    payload = {"tutor_id": tutor.id, "start": MONDAY_0900_EDT.isoformat(), "duration": 60, "subject": "calculus"}

    def first():
        with app.app_context():
            try:
                return app.test_client().post("/api/v1/bookings", json=payload, headers=headers).status_code
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(first)
        assert entered.wait(10)
        try:
            response = app.test_client().post("/api/v1/bookings", json=payload, headers=headers)
            assert_error(response, 409, "still in progress")
        finally:
            release.set()
        assert pending.result() == 201
    db.session.remove()
    assert _count(Booking) == 1


def test_without_a_key_each_request_runs(client, auth, march, tutor, student):
    assert book(client, auth, student, tutor).status_code == 201
    assert book(client, auth, student, tutor).status_code == 409  # the same slot: taken by the first
    assert _count(IdempotencyKey) == 0


def test_expired_keys_are_purged(client, auth, march, tutor, student):
    from jobs import tasks
    book(client, auth, student, tutor, headers={"Idempotency-Key": "old"})
    db.session.execute(sa.update(IdempotencyKey).values(expires_at=utc(2026, 2, 1)))
    db.session.commit()
    assert tasks.purge_expired_idempotency_keys() == 1
    assert _count(IdempotencyKey) == 0


def test_a_retried_cancel_with_its_key_replays_instead_of_409(client, auth, march, tutor, student):
    booking_id = book(client, auth, student, tutor).get_json()["id"]
    headers = {**auth.headers(student), "Idempotency-Key": "cancel-1"}
    first = client.post(f"/api/v1/bookings/{booking_id}/cancel", json={"reason": "no"}, headers=headers)
    again = client.post(f"/api/v1/bookings/{booking_id}/cancel", json={"reason": "no"}, headers=headers)
    assert first.status_code == again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert balances(student.id) == {"wallet": 10000}
    # without the key, a second cancel is the state machine's 409
    assert_error(client.post(f"/api/v1/bookings/{booking_id}/cancel", json={"reason": "no"},
                             headers=auth.headers(student)), 409)


def test_a_request_refused_by_its_schema_does_not_use_the_key(client, auth, march, tutor, student):
    """Stripe stores no result when the parameters failed validation: the corrected request may reuse the key."""
    key = {"Idempotency-Key": "typo-1"}
    refused = book(client, auth, student, tutor, duration="sixty", headers=key)
    assert_error(refused, 422, "Validation failed")
    assert "Idempotent-Replayed" not in refused.headers
    assert _count(IdempotencyKey) == 0
    fixed = book(client, auth, student, tutor, headers=key)
    assert fixed.status_code == 201 and "Idempotent-Replayed" not in fixed.headers
    assert book(client, auth, student, tutor, headers=key).headers["Idempotent-Replayed"] == "true"
    assert _count(Booking) == 1
