"""Real concurrent requests on PostgreSQL: a wallet is never overdrawn, a hold is settled once."""
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.payments.models import Hold, LedgerTransaction
from tests.factories import UserFactory, fund_wallet
from tests.payments.conftest import MONDAY_0900_EDT, balances, iso

pytestmark = pytest.mark.postgres


def _race(app, calls):
    """Run each (method, url, json, headers) at once from its own thread; the statuses, sorted."""
    barrier = threading.Barrier(len(calls))

    def attempt(call):
        method, url, payload, headers = call
        with app.app_context():
            client = app.test_client()
            barrier.wait()
            try:
                return getattr(client, method)(url, json=payload, headers=headers).status_code
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return sorted(pool.map(attempt, calls))


def test_concurrent_bookings_never_overdraw_the_wallet(app, auth, march, tutor, monkeypatch):
    monkeypatch.setitem(app.config, "BOOKING_MAX_PENDING_PER_TUTOR", 0)  # the money decides here, not the cap
    student = UserFactory()
    fund_wallet(student, 8 * 1500)  # enough for 8 of the 16 half-hour sessions
    headers = auth.headers(student)
    calls = [("post", "/api/v1/bookings", {"tutor_id": tutor.id, "start": iso(MONDAY_0900_EDT + timedelta(minutes=30 * i)),
                                            "duration": 30, "subject": "calculus"}, headers) for i in range(16)]
    statuses = _race(app, calls)
    assert statuses == [201] * 8 + [402] * 8
    assert balances(student.id) == {"wallet": 0}
    assert balances(None)["escrow"] == 12000


def test_racing_cancel_and_reject_move_the_money_once(app, auth, client, march, tutor, student):
    booking_id = client.post("/api/v1/bookings", json={"tutor_id": tutor.id, "start": iso(MONDAY_0900_EDT),
                                                       "duration": 60, "subject": "calculus"},
                             headers=auth.headers(student)).get_json()["id"]
    calls = [("post", f"/api/v1/bookings/{booking_id}/cancel", {"reason": "no"}, auth.headers(student)),
             ("post", f"/api/v1/bookings/{booking_id}/reject", {}, auth.headers(tutor))] * 3
    statuses = _race(app, calls)
    assert statuses.count(200) == 1 and statuses.count(409) == 5
    assert balances(student.id) == {"wallet": 10000}
    settlements = db.session.scalar(sa.select(sa.func.count()).select_from(LedgerTransaction)
                                    .where(LedgerTransaction.kind == "booking_settlement"))
    assert settlements == 1


def test_concurrent_release_jobs_settle_each_hold_once(app, auth, client, freeze, tutor):
    from jobs import tasks

    freeze(MONDAY_0900_EDT - timedelta(days=8))
    ids = []
    for i in range(6):
        student = UserFactory()
        fund_wallet(student, 3000)
        response = client.post("/api/v1/bookings", json={
            "tutor_id": tutor.id, "start": iso(MONDAY_0900_EDT + timedelta(hours=i)), "duration": 60,
            "subject": "calculus"}, headers=auth.headers(student))
        ids.append(response.get_json()["id"])
        client.post(f"/api/v1/bookings/{ids[-1]}/accept", headers=auth.headers(tutor))
    freeze(MONDAY_0900_EDT + timedelta(hours=7))
    for booking_id in ids:
        assert client.post(f"/api/v1/bookings/{booking_id}/complete", headers=auth.headers(tutor)).status_code == 200
    freeze(MONDAY_0900_EDT + timedelta(days=3))
    barrier = threading.Barrier(4)

    def run():
        with app.app_context():
            barrier.wait()
            try:
                return tasks.release_due_escrow()
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=4) as pool:
        settled = sum(pool.map(lambda _: run(), range(4)))
    assert settled == 6
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Hold).where(Hold.state == "settled")) == 6
    assert balances(tutor.id) == {"tutor_payable": 6 * 2550}


def test_the_same_idempotency_key_sent_at_once_books_once(app, auth, march, tutor, student):
    headers = {**auth.headers(student), "Idempotency-Key": "double-click"}
    payload = {"tutor_id": tutor.id, "start": iso(MONDAY_0900_EDT), "duration": 60, "subject": "calculus"}
    statuses = _race(app, [("post", "/api/v1/bookings", payload, headers)] * 6)
    assert set(statuses) <= {201, 409} and 201 in statuses
    assert balances(student.id) == {"wallet": 7000}
    from app.scheduling.models import Booking

    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 1
