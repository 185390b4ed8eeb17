"""Deposits: a PayPal order, the buyer's approval on the simulator's page, one capture crediting the wallet once."""
import threading

import pytest
import requests

from tests.conftest import assert_error
from tests.factories import UserFactory
from tests.payments.helpers import API, balance, captured_deposit, key, ledger_problems, start_deposit


@pytest.fixture
def student(db):
    return UserFactory(roles=["student"])


@pytest.fixture
def headers(auth, student):
    return auth.headers(student)


def test_deposit_walkthrough_through_the_approve_page(client, headers, student, paypal, live_simulator):
    deposit = start_deposit(client, headers, 2500, "USD")
    assert deposit["status"] == "created" and deposit["amount_minor"] == 2500
    assert deposit["approve_url"].startswith(live_simulator.base_url)
    page = requests.get(deposit["approve_url"], timeout=5)
    assert page.status_code == 200 and "Approve payment" in page.text
    approved = requests.post(deposit["approve_url"].split("?")[0],
                             data={"token": deposit["order_id"], "decision": "approve"}, timeout=5,
                             allow_redirects=False)
    assert approved.status_code == 302 and f"token={deposit['order_id']}" in approved.headers["Location"]
    response = client.post(f"{API}/wallet/deposits/{deposit['id']}/capture", headers=headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == "captured" and body["captured_minor"] == 2500 and body["refundable_minor"] == 2500
    assert balance(student.id) == 2500
    wallet = client.get(f"{API}/wallet", headers=headers).get_json()
    assert {"currency": "USD", "available_minor": 2500}.items() <= wallet["balances"][0].items()
    assert ledger_problems() == []


def test_capturing_twice_is_409_and_credits_once(client, headers, student, paypal):
    deposit = captured_deposit(client, headers, paypal, 1000)
    again = client.post(f"{API}/wallet/deposits/{deposit['id']}/capture", headers=headers)
    assert_error(again, 409, "already captured")
    assert balance(student.id) == 1000


def test_capture_retried_with_the_same_key_replays(client, headers, student, paypal):
    deposit = start_deposit(client, headers, 1000)
    paypal.approve(deposit["order_id"])
    idem = key()
    first = client.post(f"{API}/wallet/deposits/{deposit['id']}/capture", headers={**headers, **idem})
    second = client.post(f"{API}/wallet/deposits/{deposit['id']}/capture", headers={**headers, **idem})
    assert first.status_code == second.status_code == 200
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert balance(student.id) == 1000


def test_create_with_the_same_key_makes_one_order(client, headers, paypal):
    idem = key()
    first = start_deposit(client, headers, 1000, extra_headers=idem)
    second = start_deposit(client, headers, 1000, extra_headers=idem)
    assert first["id"] == second["id"] and len(paypal.orders) == 1


def test_capture_before_approval_is_409(client, headers, student, paypal):
    deposit = start_deposit(client, headers, 1000)
    assert_error(client.post(f"{API}/wallet/deposits/{deposit['id']}/capture", headers=headers), 409, "approved")
    assert balance(student.id) == 0


def test_capture_whose_answer_was_lost_is_recovered(client, headers, student, paypal, gateway):
    """PayPal captured but our record was lost (a crash after PayPal answered): the retry takes PayPal's capture."""
    deposit = start_deposit(client, headers, 1500)
    paypal.approve(deposit["order_id"])
    gateway.capture_order(deposit["order_id"], request_id="lost-elsewhere")
    response = client.post(f"{API}/wallet/deposits/{deposit['id']}/capture", headers=headers)
    assert response.status_code == 200 and response.get_json()["captured_minor"] == 1500
    assert balance(student.id) == 1500


@pytest.mark.parametrize("status", [500, 503])
def test_paypal_outage_is_503_and_loses_nothing(client, headers, student, paypal, status):
    paypal.fail_next(status)
    assert_error(client.post(f"{API}/wallet/deposits", json={"amount": 1000, "currency": "USD"}, headers=headers),
                 503, "paypal")
    assert client.get(f"{API}/wallet/deposits", headers=headers).get_json() == []
    deposit = start_deposit(client, headers, 1000)
    paypal.approve(deposit["order_id"])
    paypal.fail_next(status)
    assert_error(client.post(f"{API}/wallet/deposits/{deposit['id']}/capture", headers=headers), 503)
    assert balance(student.id) == 0
    assert client.post(f"{API}/wallet/deposits/{deposit['id']}/capture", headers=headers).status_code == 200
    assert balance(student.id) == 1000


@pytest.mark.parametrize("body", [
    {"amount": 0, "currency": "USD"},
    {"amount": -100, "currency": "USD"},
    {"amount": 10.5, "currency": "USD"},
    {"amount": 10.0, "currency": "USD"},
    {"amount": "1000", "currency": "USD"},
    {"amount": True, "currency": "USD"},
    {"amount": 1000, "currency": "XXX"},
    {"amount": 1000, "currency": "usd"},
    {"amount": 10**12, "currency": "USD"},
    {"amount": 1000},
    {"amount": 1000, "currency": "USD", "extra": 1},
])
def test_bad_amounts_are_422_and_nothing_is_ordered(client, headers, paypal, body):
    assert_error(client.post(f"{API}/wallet/deposits", json=body, headers=headers), 422)
    assert not paypal.orders


def test_unconfirmed_email_is_403(client, auth, paypal):
    user = UserFactory(email_confirmed_at=None)
    response = client.post(f"{API}/wallet/deposits", json={"amount": 1000, "currency": "USD"},
                           headers=auth.headers(user))
    assert_error(response, 403, "email")
    assert not paypal.orders


def test_unauthenticated_is_401(client, paypal):
    assert_error(client.post(f"{API}/wallet/deposits", json={"amount": 1000, "currency": "USD"}), 401)


def test_another_users_deposit_is_404(client, headers, auth, paypal):
    deposit = start_deposit(client, headers, 1000)
    paypal.approve(deposit["order_id"])
    other = auth.headers(UserFactory())
    assert_error(client.get(f"{API}/wallet/deposits/{deposit['id']}", headers=other), 404)
    assert_error(client.post(f"{API}/wallet/deposits/{deposit['id']}/capture", headers=other), 404)
    assert_error(client.post(f"{API}/wallet/deposits/{deposit['id']}/refunds", json={"amount": 1}, headers=other),
                 404)
    assert_error(client.get(f"{API}/wallet/deposits/99999999999", headers=other), 404)


def test_list_is_mine_and_paginated(client, headers, auth, paypal):
    for amount in (100, 200, 300):
        start_deposit(client, headers, amount)
    start_deposit(client, auth.headers(UserFactory()), 999)
    response = client.get(f"{API}/wallet/deposits?page_size=2", headers=headers)
    assert [d["amount_minor"] for d in response.get_json()] == [300, 200]
    assert '"total": 3' in response.headers["X-Pagination"]


@pytest.mark.postgres
def test_concurrent_captures_credit_once(app, client, headers, student, paypal):
    deposit = start_deposit(client, headers, 4000)
    paypal.approve(deposit["order_id"])
    barrier = threading.Barrier(6)
    statuses = []

    def capture():
        with app.test_client() as own:
            barrier.wait()
            statuses.append(own.post(f"{API}/wallet/deposits/{deposit['id']}/capture", headers=headers).status_code)

    threads = [threading.Thread(target=capture) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [409] * 5
    assert balance(student.id) == 4000
    assert ledger_problems() == []


def test_a_key_does_not_leak_into_the_next_request(client, headers, paypal):
    """The Idempotency-Key of one request is not the next request's (the app context outlives a test request)."""
    with_key = start_deposit(client, headers, 1000, extra_headers=key())
    without_key = start_deposit(client, headers, 1000)
    assert with_key["id"] != without_key["id"] and len(paypal.orders) == 2
