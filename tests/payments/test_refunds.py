"""Refunds of unused deposit money to the PayPal capture it came from: partial, several, never beyond the capture
nor the wallet, under concurrency too."""
import threading

import pytest

from tests.conftest import assert_error
from tests.factories import UserFactory
from tests.payments.helpers import (
    API,
    balance,
    captured_deposit,
    key,
    ledger_problems,
    spend,
    start_deposit,
)


@pytest.fixture
def student(db):
    return UserFactory(roles=["student"])


@pytest.fixture
def headers(auth, student):
    return auth.headers(student)


def refund(client, headers, deposit_id, amount, extra=None):
    return client.post(f"{API}/wallet/deposits/{deposit_id}/refunds", json={"amount": amount},
                       headers={**headers, **(extra or {})})


def test_partial_refunds_up_to_the_captured_total(client, headers, student, paypal):
    deposit = captured_deposit(client, headers, paypal, 3000)
    first = refund(client, headers, deposit["id"], 1000)
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["status"] == "COMPLETED" and first.get_json()["amount_minor"] == 1000
    assert refund(client, headers, deposit["id"], 2000).status_code == 201
    assert balance(student.id) == 0
    capture = paypal.captures[deposit["capture_id"]]
    assert capture["refunded"] == 3000 and capture["status"] == "REFUNDED"
    listed = client.get(f"{API}/wallet/deposits/{deposit['id']}/refunds", headers=headers).get_json()
    assert [r["amount_minor"] for r in listed] == [1000, 2000]
    assert client.get(f"{API}/wallet/deposits/{deposit['id']}", headers=headers).get_json()["refundable_minor"] == 0
    assert ledger_problems() == []


def test_refund_above_what_the_capture_holds_is_422(client, headers, student, paypal):
    deposit = captured_deposit(client, headers, paypal, 1000)
    assert refund(client, headers, deposit["id"], 600).status_code == 201
    assert_error(refund(client, headers, deposit["id"], 401), 422, "capture")
    assert balance(student.id) == 400
    assert paypal.captures[deposit["capture_id"]]["refunded"] == 600


def test_refund_above_the_wallet_is_402_and_paypal_is_not_asked(client, headers, student, paypal):
    deposit = captured_deposit(client, headers, paypal, 1000)
    spend(student.id, 700)  # the wallet holds 300 while the capture still holds 1000
    calls = len(paypal.requests)
    assert_error(refund(client, headers, deposit["id"], 301), 402)
    assert len(paypal.requests) == calls
    assert balance(student.id) == 300
    assert refund(client, headers, deposit["id"], 300).status_code == 201
    assert balance(student.id) == 0


def test_refund_of_an_uncaptured_deposit_is_409(client, headers, paypal):
    deposit = start_deposit(client, headers, 1000)
    assert_error(refund(client, headers, deposit["id"], 100), 409)


@pytest.mark.parametrize("amount", [0, -5, 1.5, "100", None])
def test_bad_refund_amounts_are_422(client, headers, student, paypal, amount):
    deposit = captured_deposit(client, headers, paypal, 1000)
    assert_error(refund(client, headers, deposit["id"], amount), 422)
    assert balance(student.id) == 1000


def test_outage_during_a_refund_is_503_and_the_wallet_keeps_its_money(client, headers, student, paypal):
    deposit = captured_deposit(client, headers, paypal, 1000)
    paypal.fail_next(503)
    assert_error(refund(client, headers, deposit["id"], 400), 503)
    assert balance(student.id) == 1000
    assert paypal.captures[deposit["capture_id"]]["refunded"] == 0
    assert refund(client, headers, deposit["id"], 400).status_code == 201
    assert balance(student.id) == 600


def test_retry_with_the_same_key_after_an_outage_refunds_once(client, headers, student, paypal):
    deposit = captured_deposit(client, headers, paypal, 1000)
    idem = key()
    paypal.fail_next(502)
    assert_error(refund(client, headers, deposit["id"], 400, idem), 503)
    assert refund(client, headers, deposit["id"], 400, idem).status_code == 201
    replay = refund(client, headers, deposit["id"], 400, idem)
    assert replay.status_code == 201 and replay.headers.get("Idempotent-Replayed") == "true"
    assert balance(student.id) == 600
    assert paypal.captures[deposit["capture_id"]]["refunded"] == 400


@pytest.mark.postgres
def test_concurrent_refunds_never_exceed_the_capture(app, client, headers, student, paypal):
    deposit = captured_deposit(client, headers, paypal, 1000)
    barrier = threading.Barrier(8)
    statuses = []

    def run():
        with app.test_client() as own:
            barrier.wait()
            statuses.append(refund(own, headers, deposit["id"], 300).status_code)

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] * 3 + [422] * 5
    assert balance(student.id) == 100
    assert paypal.captures[deposit["capture_id"]]["refunded"] == 900
    assert ledger_problems() == []


@pytest.mark.postgres
def test_concurrent_refunds_of_two_deposits_never_overdraw_the_wallet(app, client, headers, student, paypal):
    first = captured_deposit(client, headers, paypal, 1000)
    second = captured_deposit(client, headers, paypal, 1000)
    spend(student.id, 1000)  # the wallet holds 1000 while the captures still hold 2000
    barrier = threading.Barrier(6)
    statuses = []

    def run(deposit_id):
        with app.test_client() as own:
            barrier.wait()
            statuses.append(refund(own, headers, deposit_id, 400).status_code)

    threads = [threading.Thread(target=run, args=(d,)) for d in [first["id"], second["id"]] * 3]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses.count(201) == 2 and set(statuses) <= {201, 402, 422}
    assert balance(student.id) == 200
    assert sum(c["refunded"] for c in paypal.captures.values()) == 800
    assert ledger_problems() == []
