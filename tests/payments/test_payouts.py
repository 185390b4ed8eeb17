"""Tutor payouts: tutor_payable -> a PayPal Payout to the saved email; failures return the money."""
import threading

import pytest

from tests.conftest import assert_error
from tests.factories import TutorDocumentFactory, TutorFactory
from tests.payments.helpers import API, balance, fund, key, ledger_problems


def verified_tutor(email_confirmed=True, mfa=True):
    from app.common.time import utcnow

    tutor = TutorFactory(mfa_enabled=mfa, email_confirmed_at=utcnow() if email_confirmed else None)
    TutorDocumentFactory(tutor=tutor, kind="id_card", status="approved")
    TutorDocumentFactory(tutor=tutor, kind="diploma", status="approved")
    return tutor


@pytest.fixture
def tutor(db):
    return verified_tutor()


@pytest.fixture
def headers(auth, tutor):
    return auth.headers(tutor)


def save_account(client, headers, email="tutor.paypal@example.com"):
    response = client.put(f"{API}/payouts/account", json={"paypal_email": email}, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def payout(client, headers, amount, currency="USD", extra=None):
    return client.post(f"{API}/payouts", json={"amount": amount, "currency": currency},
                       headers={**headers, **(extra or {})})


def webhook(client, signed):
    headers, event = signed
    return client.post(f"{API}/payments/paypal/webhook", json=event, headers=headers)


def test_payout_account_roundtrip(client, headers):
    assert_error(client.get(f"{API}/payouts/account", headers=headers), 404)
    save_account(client, headers, "First@Example.com")
    assert client.get(f"{API}/payouts/account", headers=headers).get_json()["paypal_email"] == "first@example.com"
    save_account(client, headers, "second@example.com")
    assert client.get(f"{API}/payouts/account", headers=headers).get_json()["paypal_email"] == "second@example.com"
    assert_error(client.put(f"{API}/payouts/account", json={"paypal_email": "not-an-email"}, headers=headers), 422)


def test_payout_moves_payable_to_paypal(client, headers, tutor, paypal):
    fund(tutor.id, 5000)
    save_account(client, headers)
    response = payout(client, headers, 3000)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "pending" and body["receiver_email"] == "tutor.paypal@example.com"
    assert balance(tutor.id, "tutor_payable") == 2000
    batch = paypal.payouts[body["paypal_batch_id"]]
    assert batch["cents"] == 3000 and batch["receiver"] == "tutor.paypal@example.com"
    # PayPal's word on the item arrives by webhook.
    assert webhook(client, paypal.events[-1]).get_json()["outcome"] == "applied"
    listed = client.get(f"{API}/payouts", headers=headers).get_json()
    assert [(p["id"], p["status"]) for p in listed] == [(body["id"], "succeeded")]
    assert ledger_problems() == []


def test_failed_payout_returns_the_money_once(client, headers, tutor, paypal):
    fund(tutor.id, 5000)
    save_account(client, headers, "nobody@fail.example")
    body = payout(client, headers, 3000).get_json()
    assert balance(tutor.id, "tutor_payable") == 2000
    headers_event, event = paypal.events[-1]
    assert event["event_type"] == "PAYMENT.PAYOUTS-ITEM.FAILED"
    assert webhook(client, (headers_event, event)).get_json()["outcome"] == "applied"
    assert balance(tutor.id, "tutor_payable") == 5000
    listed = client.get(f"{API}/payouts", headers=headers).get_json()
    assert listed[0]["id"] == body["id"] and listed[0]["status"] == "failed"
    # The same failure told again (a new event id) returns nothing more.
    again = paypal.emit("PAYMENT.PAYOUTS-ITEM.FAILED", event["resource"])
    assert webhook(client, again).get_json()["outcome"] == "already_applied"
    assert balance(tutor.id, "tutor_payable") == 5000
    assert ledger_problems() == []


def test_payout_above_the_balance_is_402_and_paypal_is_not_asked(client, headers, tutor, paypal):
    fund(tutor.id, 1000)
    save_account(client, headers)
    assert_error(payout(client, headers, 1001), 402)
    assert not paypal.payouts and balance(tutor.id, "tutor_payable") == 1000
    assert client.get(f"{API}/payouts", headers=headers).get_json() == []


def test_outage_is_503_and_moves_nothing(client, headers, tutor, paypal):
    fund(tutor.id, 1000)
    save_account(client, headers)
    idem = key()
    paypal.fail_next(503)
    assert_error(payout(client, headers, 500, extra=idem), 503)
    assert balance(tutor.id, "tutor_payable") == 1000 and not paypal.payouts
    assert payout(client, headers, 500, extra=idem).status_code == 201
    assert payout(client, headers, 500, extra=idem).headers.get("Idempotent-Replayed") == "true"
    assert balance(tutor.id, "tutor_payable") == 500 and len(paypal.payouts) == 1


def test_payout_without_a_saved_account_is_409(client, headers, tutor, paypal):
    fund(tutor.id, 1000)
    assert_error(payout(client, headers, 500), 409, "paypal email")


@pytest.mark.parametrize("kwargs,message", [({"mfa": False}, "two-factor"), ({"email_confirmed": False}, "email")])
def test_payout_needs_mfa_and_a_confirmed_email(client, auth, paypal, kwargs, message):
    user = verified_tutor(**kwargs)
    fund(user.id, 1000)
    assert_error(payout(client, auth.headers(user), 500), 403, message)
    assert balance(user.id, "tutor_payable") == 1000


def test_payout_needs_a_verified_tutor(client, auth, paypal):
    user = TutorFactory(mfa_enabled=True)
    fund(user.id, 1000)
    assert_error(payout(client, auth.headers(user), 500), 403, "verified")


def test_students_cannot_use_payouts(client, auth, paypal):
    from tests.factories import UserFactory

    student_headers = auth.headers(UserFactory(roles=["student"]))
    assert_error(payout(client, student_headers, 500), 403)
    assert_error(client.get(f"{API}/payouts", headers=student_headers), 403)
    assert_error(client.put(f"{API}/payouts/account", json={"paypal_email": "a@b.co"}, headers=student_headers), 403)


@pytest.mark.parametrize("body", [
    {"amount": 0, "currency": "USD"}, {"amount": -1, "currency": "USD"}, {"amount": 1.5, "currency": "USD"},
    {"amount": 100, "currency": "ZZZ"}, {"currency": "USD"},
])
def test_bad_payout_input_is_422(client, headers, tutor, paypal, body):
    fund(tutor.id, 1000)
    save_account(client, headers)
    assert_error(client.post(f"{API}/payouts", json=body, headers=headers), 422)
    assert balance(tutor.id, "tutor_payable") == 1000


def test_payouts_list_is_mine_and_paginated(client, headers, tutor, auth, paypal):
    fund(tutor.id, 1000)
    save_account(client, headers)
    for amount in (100, 200, 300):
        assert payout(client, headers, amount).status_code == 201
    other = verified_tutor()
    assert client.get(f"{API}/payouts", headers=auth.headers(other)).get_json() == []
    page = client.get(f"{API}/payouts?page_size=2", headers=headers)
    assert [p["amount_minor"] for p in page.get_json()] == [300, 200]
    assert '"total": 3' in page.headers["X-Pagination"]


@pytest.mark.postgres
def test_concurrent_payouts_never_exceed_the_balance(app, client, headers, tutor, paypal):
    fund(tutor.id, 1000)
    save_account(client, headers)
    barrier = threading.Barrier(6)
    statuses = []

    def run():
        with app.test_client() as own:
            barrier.wait()
            statuses.append(payout(own, headers, 300).status_code)

    threads = [threading.Thread(target=run) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] * 3 + [402] * 3
    assert balance(tutor.id, "tutor_payable") == 100 and len(paypal.payouts) == 3
    assert ledger_problems() == []


def test_lost_webhooks_are_made_up_by_the_sync_job(app, client, tutor, headers, paypal):
    from datetime import timedelta

    from app.common.time import utcnow
    from app.common.transactions import unit_of_work
    from app.extensions import db
    from app.payments.paypal_models import Payout
    from jobs import tasks

    fund(tutor.id, 5000)
    save_account(client, headers, "nobody@fail.example")
    failed = payout(client, headers, 1000).get_json()
    save_account(client, headers, "tutor@example.com")
    paid = payout(client, headers, 2000).get_json()
    assert tasks.sync_pending_payouts() == 0  # too recent: their webhooks are probably on their way
    with unit_of_work():
        db.session.execute(db.update(Payout).values(created_at=utcnow() - timedelta(hours=1)))
    paypal.fail_next(503)  # the first lookup meets an outage: skipped, the other still settled
    assert tasks.sync_pending_payouts() == 1
    assert tasks.sync_pending_payouts() == 1
    assert tasks.sync_pending_payouts() == 0
    statuses = {p["id"]: p["status"] for p in client.get(f"{API}/payouts", headers=headers).get_json()}
    assert statuses == {failed["id"]: "failed", paid["id"]: "succeeded"}
    assert balance(tutor.id, "tutor_payable") == 3000
    assert ledger_problems() == []
