"""Real concurrent requests and jobs on PostgreSQL: the last credit goes to one booking, a credit and a package
cancellation never both get the same money, a renewal runs once however many jobs run at once."""
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.payments.models import LedgerTransaction
from app.scheduling.models import Booking
from tests.factories import UserFactory, fund_wallet
from tests.payments.conftest import MONDAY_0900_EDT, balances, iso, utc
from tests.payments.package_helpers import (  # noqa: F401  (the autouse escrow check)
    API,
    _escrow_matches_holds_and_credits,
    bought,
    offer,
    plan,
    purchase_row,
    subscribe,
)
from tests.payments.test_concurrency import _race

pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def _no_pending_cap(app, monkeypatch):
    monkeypatch.setitem(app.config, "BOOKING_MAX_PENDING_PER_TUTOR", 0)  # the credits decide here, not the cap


def _booking(tutor, purchase_id, hours):
    return {"tutor_id": tutor.id, "start": iso(MONDAY_0900_EDT + timedelta(hours=hours)), "duration": 60,
            "subject": "calculus", "use_credit": purchase_id}


def test_bookings_racing_for_the_last_credit_get_it_once(app, auth, client, march, tutor, student):
    purchase = bought(client, auth, student, offer(client, auth, tutor)["id"])
    headers = auth.headers(student)
    for hours in (0, 1):  # two of the three credits are used
        assert client.post(f"{API}/bookings", json=_booking(tutor, purchase["id"], hours),
                           headers=headers).status_code == 201
    calls = [("post", f"{API}/bookings", _booking(tutor, purchase["id"], 2 + i), headers) for i in range(6)]
    assert _race(app, calls) == [201] + [409] * 5
    assert purchase_row(purchase["id"]) == {"credits_used": 3, "held_minor": 0, "state": "active"}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 3
    assert balances(student.id) == {"wallet": 1900}


def test_bookings_racing_a_cancellation_never_spend_refunded_money(app, auth, client, march, tutor, student):
    purchase = bought(client, auth, student, offer(client, auth, tutor)["id"])
    headers = auth.headers(student)
    calls = [("post", f"{API}/purchases/{purchase['id']}/cancel", None, headers)] + [
        ("post", f"{API}/bookings", _booking(tutor, purchase["id"], i), headers) for i in range(3)]
    statuses = _race(app, calls)
    booked = db.session.scalar(sa.select(sa.func.count()).select_from(Booking))
    db.session.rollback()
    assert statuses.count(200) == 1 and statuses.count(201) == booked
    assert statuses.count(409) == 3 - booked
    # whatever the order: the wallet got back exactly the credits no booking holds
    assert balances(student.id) == {"wallet": 1900 + 2700 * (3 - booked)}
    assert balances(None)["escrow"] == 2700 * booked


def test_renewal_jobs_running_at_once_renew_each_subscription_once(app, auth, client, freeze, tutor):
    from jobs import tasks

    freeze(utc(2026, 3, 1))
    monthly = plan(client, auth, tutor)
    students = []
    for _ in range(5):
        student = UserFactory()
        fund_wallet(student, 8000)
        assert subscribe(client, auth, student, monthly["id"]).status_code == 201
        students.append(student)
    poor = UserFactory()
    fund_wallet(poor, 4000)
    assert subscribe(client, auth, poor, monthly["id"]).status_code == 201
    freeze(utc(2026, 4, 1, 0, 1))
    barrier = threading.Barrier(4)

    def run():
        with app.app_context():
            barrier.wait()
            try:
                return tasks.renew_subscriptions()
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: run(), range(4)))
    assert sum(r["renewed"] for r in results) == 5 and sum(r["paused"] for r in results) == 1
    assert tasks.renew_subscriptions() == {"renewed": 0, "paused": 0, "cancelled": 0}
    for student in students:
        assert balances(student.id) == {"wallet": 0}
    assert balances(poor.id) == {"wallet": 0}
    charges = db.session.scalar(sa.select(sa.func.count()).select_from(LedgerTransaction)
                                .where(LedgerTransaction.kind == "package_purchase"))
    assert charges == 6 + 5
    # the six ended months' credits (4000 each) went to the tutor minus 15 %
    assert balances(tutor.id) == {"tutor_payable": 6 * 3400}
