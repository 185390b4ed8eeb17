"""Disputes under real concurrency on PostgreSQL: one resolution moves the money, a dispute racing the release
job either freezes the hold or finds it paid (never both), one open dispute per booking."""
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.common.transactions import unit_of_work
from app.extensions import db
from app.payments.dispute_models import PaymentDispute
from app.payments.models import Hold, LedgerTransaction
from tests.factories import UserFactory, fund_wallet
from tests.payments.conftest import MONDAY_0900_EDT, balances, iso
from tests.payments.disputes_helpers import API, DONE_AT, completed_session, dispute_form, open_dispute

pytestmark = pytest.mark.postgres


def _in_threads(app, functions):
    """Run each function(client) at once from its own thread with its own session; their results, in order."""
    barrier = threading.Barrier(len(functions))

    def run(function):
        with app.app_context():
            client = app.test_client()
            barrier.wait()
            try:
                return function(client)
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=len(functions)) as pool:
        return list(pool.map(run, functions))


def test_concurrent_resolutions_settle_once(app, auth, client, freeze, student, tutor):
    booking_id = completed_session(client, auth, freeze, student, tutor)
    dispute_id = open_dispute(client, auth, student, booking_id).get_json()["id"]
    admins = [auth.headers(UserFactory(roles=["admin"])) for _ in range(6)]

    def resolve(percent, headers):
        return lambda c: c.patch(f"{API}/admin/disputes/{dispute_id}", headers=headers,
                                 json={"resolution": "split", "percent_to_student": percent}).status_code

    statuses = _in_threads(app, [resolve(percent, headers) for percent, headers in zip(range(0, 60, 10), admins,
                                                                                          strict=True)])
    assert sorted(statuses) == [200] + [409] * 5
    db.session.rollback()
    dispute = db.session.get(PaymentDispute, dispute_id)
    refund = 3000 * dispute.percent_to_student // 100
    assert balances(student.id) == {"wallet": 7000 + refund}
    assert balances(tutor.id).get("tutor_payable", 0) + balances(None).get("platform_revenue", 0) == 3000 - refund
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LedgerTransaction)
                             .where(LedgerTransaction.kind == "booking_settlement")) == 1


def test_a_dispute_racing_the_release_job_either_freezes_or_finds_it_paid(app, auth, client, freeze, tutor):
    freeze(MONDAY_0900_EDT - timedelta(days=8))
    students, bookings = [], []
    for i in range(5):
        student = UserFactory()
        fund_wallet(student, 3000)
        students.append(student)
        response = client.post(f"{API}/bookings", headers=auth.headers(student), json={
            "tutor_id": tutor.id, "start": iso(MONDAY_0900_EDT + timedelta(hours=i)), "duration": 60,
            "subject": "calculus"})
        bookings.append(response.get_json()["id"])
        assert client.post(f"{API}/bookings/{bookings[-1]}/accept", headers=auth.headers(tutor)).status_code == 200
    done = freeze(MONDAY_0900_EDT + timedelta(hours=6))
    for booking_id in bookings:
        assert client.post(f"{API}/bookings/{booking_id}/complete", headers=auth.headers(tutor)).status_code == 200
    # The requests see a clock just inside the windows; the job runs as if they had passed.
    freeze(done + timedelta(hours=47, minutes=59))
    headers = [auth.headers(s) for s in students]

    def job(_client):
        """The release job, one hold per transaction with pauses, so requests interleave with its runs."""
        from app.payments import services as payments

        settled = 0
        for _ in range(len(bookings)):
            time.sleep(0.06)
            with unit_of_work():
                settled += payments.release_due(now=DONE_AT + timedelta(days=5), batch=1)
        return settled

    def dispute(index):
        return lambda c: c.post(f"{API}/bookings/{bookings[index]}/disputes", data=dispute_form(files=()),
                                headers=headers[index], content_type="multipart/form-data").status_code

    results = _in_threads(app, [job, *[dispute(i) for i in range(5)], job])
    released, statuses = results[0] + results[-1], results[1:-1]
    assert set(statuses) <= {201, 409}
    db.session.rollback()
    for booking_id, status in zip(bookings, statuses, strict=True):
        hold = db.session.scalar(sa.select(Hold).where(Hold.cause_type == "booking", Hold.cause_id == booking_id))
        opened = db.session.scalar(sa.select(sa.func.count()).select_from(PaymentDispute)
                                   .where(PaymentDispute.cause_id == booking_id))
        if status == 201:
            assert (hold.state, hold.release_after, opened) == ("held", None, 1)
        else:
            assert (hold.state, opened) == ("settled", 0)
    assert released == statuses.count(409)
    assert balances(tutor.id).get("tutor_payable", 0) == 2550 * released
    # Later runs of the job leave the disputed holds alone.
    with unit_of_work():
        from app.payments import services as payments

        assert payments.release_due(now=DONE_AT + timedelta(days=30)) == 0


def test_concurrent_disputes_of_one_booking_open_one(app, auth, client, freeze, student, tutor):
    booking_id = completed_session(client, auth, freeze, student, tutor)
    headers = auth.headers(student)

    def attempt(c):
        return c.post(f"{API}/bookings/{booking_id}/disputes", data=dispute_form(), headers=headers,
                      content_type="multipart/form-data").status_code

    assert sorted(_in_threads(app, [attempt] * 6)) == [201] + [409] * 5
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PaymentDispute)) == 1
