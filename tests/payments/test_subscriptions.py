"""Monthly plans: subscribing, the renewal job (renew, lapse unused credits, pause and email, cancel at period
end), resuming a paused plan."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.notifications.models import Notification, OutboxMessage
from app.payments.subscriptions import add_month
from tests.conftest import assert_error
from tests.factories import UserFactory, fund_wallet
from tests.payments.conftest import MONDAY_0900_EDT, balances, book, utc
from tests.payments.package_helpers import (  # noqa: F401  (the autouse escrow check)
    API,
    _escrow_matches_holds_and_credits,
    bought,
    key,
    offer,
    plan,
    purchase_row,
    subscribe,
    transaction_kinds,
)

START = utc(2026, 3, 1)


def _renew():
    from jobs import tasks

    return tasks.renew_subscriptions()


@pytest.fixture
def monthly(client, auth, tutor):
    return plan(client, auth, tutor)  # 4 half hours a month for 40.00 USD


@pytest.fixture
def subscription(client, auth, freeze, student, monthly):
    freeze(START)
    response = subscribe(client, auth, student, monthly["id"], headers={"Idempotency-Key": "sub-1"})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _holdings(client, auth, user):
    return client.get(f"{API}/me/packages", headers=auth.headers(user)).get_json()


def test_subscribing_charges_the_first_month_and_grants_its_credits(client, auth, tutor, student, subscription):
    assert {k: subscription[k] for k in ("state", "cancel_at_period_end", "sessions", "duration", "price_minor",
                                         "currency", "periods", "current_period_start", "current_period_end")} == {
        "state": "active", "cancel_at_period_end": False, "sessions": 4, "duration": 30, "price_minor": 4000,
        "currency": "USD", "periods": 1, "current_period_start": "2026-03-01T00:00:00+00:00",
        "current_period_end": "2026-04-01T00:00:00+00:00"}
    assert balances(student.id) == {"wallet": 6000}
    holdings = _holdings(client, auth, student)
    assert [s["id"] for s in holdings["subscriptions"]] == [subscription["id"]]
    month = holdings["purchases"][0]
    assert (month["kind"], month["subscription_id"], month["credits_left"], month["held_minor"],
            month["period_end"]) == ("plan", subscription["id"], 4, 4000, "2026-04-01T00:00:00+00:00")
    booking = book(client, auth, student, tutor, duration=30, use_credit=month["id"])
    assert booking.status_code == 201 and booking.get_json()["price_minor"] == 1000
    replay = subscribe(client, auth, student, subscription["plan_id"], headers={"Idempotency-Key": "sub-1"})
    assert replay.status_code == 201 and replay.get_json()["id"] == subscription["id"]
    assert balances(student.id) == {"wallet": 6000}


def test_subscribing_refusals(client, auth, freeze, tutor, student, monthly, subscription):
    assert_error(subscribe(client, auth, student, monthly["id"]), 409, "already")
    assert_error(subscribe(client, auth, tutor, monthly["id"]), 422, "own")
    package = offer(client, auth, tutor)
    assert_error(subscribe(client, auth, student, package["id"]), 404)
    assert_error(subscribe(client, auth, student, 999999), 404)
    assert_error(client.post(f"{API}/plans/{monthly['id']}/subscriptions"), 401)
    assert_error(subscribe(client, auth, UserFactory(email_confirmed_at=None), monthly["id"]), 403)
    poor = UserFactory()
    fund_wallet(poor, 3999)
    body = assert_error(subscribe(client, auth, poor, monthly["id"]), 402)
    assert body["errors"]["shortfall"]["amount_minor"] == 1
    assert _holdings(client, auth, poor) == {"purchases": [], "subscriptions": []}
    client.patch(f"{API}/tutors/me/packages/{monthly['id']}", json={"active": False}, headers=auth.headers(tutor))
    assert_error(subscribe(client, auth, UserFactory(), monthly["id"]), 404)


def test_the_renewal_job_lapses_unused_credits_and_charges_the_next_month(client, auth, freeze, tutor, student,
                                                                          subscription):
    month = _holdings(client, auth, student)["purchases"][0]
    assert book(client, auth, student, tutor, start=MONDAY_0900_EDT, duration=30,
                use_credit=month["id"]).status_code == 201
    freeze(utc(2026, 3, 31, 23))
    assert _renew() == {"renewed": 0, "paused": 0, "cancelled": 0}
    freeze(utc(2026, 4, 1, 0, 5))
    assert _renew() == {"renewed": 1, "paused": 0, "cancelled": 0}
    assert _renew() == {"renewed": 0, "paused": 0, "cancelled": 0}  # run again: nothing more
    assert purchase_row(month["id"]) == {"credits_used": 1, "held_minor": 0, "state": "expired"}
    # three unused credits (3000) paid to the tutor minus 15 %
    assert balances(tutor.id) == {"tutor_payable": 2550}
    assert balances(student.id) == {"wallet": 2000}
    holdings = _holdings(client, auth, student)
    renewed = holdings["subscriptions"][0]
    assert (renewed["periods"], renewed["current_period_start"], renewed["current_period_end"]) == (
        2, "2026-04-01T00:00:00+00:00", "2026-05-01T00:00:00+00:00")
    assert [(p["credits_left"], p["period_start"]) for p in holdings["purchases"]] == [
        (4, "2026-04-01T00:00:00+00:00")]
    assert transaction_kinds().count("package_purchase") == 2
    assert "package_lapse" in transaction_kinds()


def test_a_renewal_the_wallet_cannot_pay_pauses_and_emails_the_student(client, auth, freeze, tutor, student,
                                                                       subscription):
    from tests.payments.helpers import spend

    spend(student.id, 3000)  # 3000 left of the 6000: short of a month
    freeze(utc(2026, 4, 1, 1))
    assert _renew() == {"renewed": 0, "paused": 1, "cancelled": 0}
    assert _renew() == {"renewed": 0, "paused": 0, "cancelled": 0}
    paused = _holdings(client, auth, student)["subscriptions"][0]
    assert (paused["state"], paused["periods"], paused["paused_at"]) == ("paused", 1, "2026-04-01T01:00:00+00:00")
    assert _holdings(client, auth, student)["purchases"] == []
    assert balances(student.id) == {"wallet": 3000}
    email = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.kind == "subscription_paused"))
    assert (email.recipient, email.channel) == (student.email, "email")
    assert "paused" in email.subject and "40.00" in email.body_text
    notice = db.session.scalar(sa.select(Notification).where(Notification.kind == "subscription_paused"))
    assert notice.user_id == student.id and notice.data == {"subscription_id": subscription["id"]}
    db.session.rollback()
    # the student tops up and resumes: a new month from now
    fund_wallet(student, 1000)
    freeze(utc(2026, 4, 3, 12))
    url = f"{API}/subscriptions/{subscription['id']}/resume"
    response = client.post(url, headers={**auth.headers(student), **key()})
    assert response.status_code == 200, response.get_json()
    resumed = response.get_json()
    assert (resumed["state"], resumed["periods"], resumed["current_period_end"]) == (
        "active", 2, "2026-05-03T12:00:00+00:00")
    assert balances(student.id) == {"wallet": 0}
    assert_error(client.post(url, headers=auth.headers(student)), 409, "paused")


def test_resuming_while_still_short_is_402_and_stays_paused(client, auth, freeze, student, subscription):
    from tests.payments.helpers import spend

    spend(student.id, 6000)
    freeze(utc(2026, 4, 2))
    assert _renew()["paused"] == 1
    body = assert_error(client.post(f"{API}/subscriptions/{subscription['id']}/resume",
                                    headers=auth.headers(student)), 402)
    assert body["errors"]["shortfall"]["amount_minor"] == 4000
    assert _holdings(client, auth, student)["subscriptions"][0]["state"] == "paused"
    assert_error(client.post(f"{API}/subscriptions/{subscription['id']}/resume",
                             headers=auth.headers(UserFactory())), 404)
    assert_error(client.post(f"{API}/subscriptions/999999/resume", headers=auth.headers(student)), 404)
    # cancelling a paused subscription ends it now
    response = client.post(f"{API}/subscriptions/{subscription['id']}/cancel", headers=auth.headers(student))
    assert (response.get_json()["state"], response.get_json()["cancelled_at"]) == (
        "cancelled", "2026-04-02T00:00:00+00:00")
    assert _holdings(client, auth, student)["subscriptions"] == []


def test_cancelling_ends_the_plan_at_period_end(client, auth, freeze, tutor, student, subscription):
    url = f"{API}/subscriptions/{subscription['id']}/cancel"
    assert_error(client.post(url, headers=auth.headers(UserFactory())), 404)
    assert_error(client.post(url, headers=auth.headers(tutor)), 404)
    assert_error(client.post(url), 401)
    assert_error(client.post(f"{API}/subscriptions/999999/cancel", headers=auth.headers(student)), 404)
    response = client.post(url, headers=auth.headers(student))
    assert response.status_code == 200
    assert (response.get_json()["state"], response.get_json()["cancel_at_period_end"]) == ("active", True)
    assert_error(client.post(url, headers=auth.headers(student)), 409, "already")
    # the month's credits stay usable until the end
    month = _holdings(client, auth, student)["purchases"][0]
    assert book(client, auth, student, tutor, duration=30, use_credit=month["id"]).status_code == 201
    freeze(utc(2026, 4, 1))
    assert _renew() == {"renewed": 0, "paused": 0, "cancelled": 1}
    assert balances(student.id) == {"wallet": 6000}
    assert _holdings(client, auth, student) == {"purchases": [], "subscriptions": []}
    # a new subscription to the same plan is possible again
    assert subscribe(client, auth, student, subscription["plan_id"]).status_code == 201


def test_a_period_credit_cannot_book_after_the_period_ends(client, auth, freeze, tutor, student, subscription):
    month = _holdings(client, auth, student)["purchases"][0]
    freeze(utc(2026, 4, 1))  # the job has not run yet
    assert _holdings(client, auth, student)["purchases"][0]["credits_left"] == 0
    assert_error(book(client, auth, student, tutor, start=utc(2026, 4, 6, 13), duration=30,
                      use_credit=month["id"]), 409, "no credit left")


def test_a_job_down_for_months_starts_the_next_month_now(client, auth, freeze, student, subscription):
    freeze(utc(2026, 6, 15))
    assert _renew()["renewed"] == 1
    renewed = _holdings(client, auth, student)["subscriptions"][0]
    assert (renewed["current_period_start"], renewed["current_period_end"]) == (
        "2026-06-15T00:00:00+00:00", "2026-07-15T00:00:00+00:00")


@pytest.mark.parametrize("moment, expected", [
    (utc(2026, 1, 31, 10), utc(2026, 2, 28, 10)),
    (utc(2028, 1, 31), utc(2028, 2, 29)),
    (utc(2026, 12, 15, 8, 30), utc(2027, 1, 15, 8, 30)),
    (utc(2026, 3, 1), utc(2026, 4, 1)),
])
def test_a_month_later(moment, expected):
    assert add_month(moment) == expected
    assert add_month(moment) - moment >= timedelta(days=28)


def test_package_credits_never_expire_with_the_job(client, auth, freeze, tutor, student):
    freeze(START)
    purchase = bought(client, auth, student, offer(client, auth, tutor)["id"])
    freeze(utc(2027, 3, 1))
    _renew()
    assert purchase_row(purchase["id"])["state"] == "active"
