"""POST /payments/paypal/webhook: verified through PayPal, applied once per event id."""
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import assert_error
from tests.factories import UserFactory
from tests.payments.helpers import API, balance, captured_deposit, ledger_problems, start_deposit

URL = f"{API}/payments/paypal/webhook"


@pytest.fixture
def student(db):
    return UserFactory(roles=["student"])


@pytest.fixture
def headers(auth, student):
    return auth.headers(student)


def post(client, signed):
    headers, event = signed
    return client.post(URL, json=event, headers=headers)


def last_event(paypal, event_type):
    return next(signed for signed in reversed(paypal.events) if signed[1]["event_type"] == event_type)


def test_capture_completed_credits_a_deposit_not_yet_captured_here(client, headers, student, paypal, gateway):
    deposit = start_deposit(client, headers, 2000)
    paypal.approve(deposit["order_id"])
    gateway.capture_order(deposit["order_id"], request_id="captured-at-paypal")  # our own answer never arrived
    response = post(client, last_event(paypal, "PAYMENT.CAPTURE.COMPLETED"))
    assert response.status_code == 200 and response.get_json()["outcome"] == "applied"
    assert balance(student.id) == 2000
    captured = client.get(f"{API}/wallet/deposits/{deposit['id']}", headers=headers).get_json()
    assert captured["status"] == "captured"
    # The client's capture afterwards: already captured, nothing credited twice.
    assert_error(client.post(f"{API}/wallet/deposits/{deposit['id']}/capture", headers=headers), 409)
    assert balance(student.id) == 2000


def test_capture_completed_after_our_capture_changes_nothing(client, headers, student, paypal):
    captured_deposit(client, headers, paypal, 2000)
    response = post(client, last_event(paypal, "PAYMENT.CAPTURE.COMPLETED"))
    assert response.get_json()["outcome"] == "already_applied"
    assert balance(student.id) == 2000


def test_replayed_event_is_409_and_changes_nothing(client, headers, student, paypal, gateway):
    deposit = start_deposit(client, headers, 2000)
    paypal.approve(deposit["order_id"])
    gateway.capture_order(deposit["order_id"], request_id="x")
    signed = last_event(paypal, "PAYMENT.CAPTURE.COMPLETED")
    assert post(client, signed).status_code == 200
    assert_error(post(client, signed), 409, "already received")
    resigned = (paypal.sign(signed[1]), signed[1])  # the same event id, freshly signed
    assert_error(post(client, resigned), 409)
    assert balance(student.id) == 2000


def test_forged_events_are_400_and_change_nothing(client, headers, student, paypal, gateway):
    deposit = start_deposit(client, headers, 2000)
    paypal.approve(deposit["order_id"])
    gateway.capture_order(deposit["order_id"], request_id="x")
    headers_event, event = last_event(paypal, "PAYMENT.CAPTURE.COMPLETED")
    tampered = {**event, "resource": {**event["resource"], "amount": {"currency_code": "USD", "value": "9999.00"}}}
    assert_error(post(client, (headers_event, tampered)), 400, "signature")
    assert_error(post(client, ({**headers_event, "PAYPAL-TRANSMISSION-SIG": "Zm9yZ2Vk"}, event)), 400)
    assert_error(post(client, ({}, event)), 400)
    assert_error(client.post(URL, data="not json", headers=headers_event), 400)
    assert_error(client.post(URL, json=[1, 2], headers=headers_event), 400)
    assert balance(student.id) == 0


def test_old_transmissions_are_refused_as_replays(client, headers, student, paypal, gateway):
    deposit = start_deposit(client, headers, 2000)
    paypal.approve(deposit["order_id"])
    gateway.capture_order(deposit["order_id"], request_id="x")
    _headers, event = last_event(paypal, "PAYMENT.CAPTURE.COMPLETED")
    old = (datetime.now(UTC) - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert_error(post(client, (paypal.sign(event, transmission_time=old), event)), 400, "too old")
    assert balance(student.id) == 0


def test_paypal_down_while_verifying_is_503(client, headers, paypal):
    signed = paypal.emit("CUSTOMER.DISPUTE.CREATED", {"dispute_id": "PP-D-1", "status": "OPEN"})
    paypal.fail_next(503)
    assert_error(post(client, signed), 503)
    assert post(client, signed).status_code == 200  # PayPal's retry is applied


def test_refund_made_at_paypal_takes_the_money_back(client, headers, student, paypal, gateway):
    deposit = captured_deposit(client, headers, paypal, 3000)
    gateway.refund_capture(deposit["capture_id"], 1000, "USD", request_id="dashboard-refund")
    response = post(client, last_event(paypal, "PAYMENT.CAPTURE.REFUNDED"))
    assert response.get_json()["outcome"] == "applied"
    assert balance(student.id) == 2000
    body = client.get(f"{API}/wallet/deposits/{deposit['id']}", headers=headers).get_json()
    assert body["refunded_minor"] == 1000 and body["refundable_minor"] == 2000
    assert ledger_problems() == []


def test_refund_event_for_our_own_refund_changes_nothing(client, headers, student, paypal):
    deposit = captured_deposit(client, headers, paypal, 3000)
    assert client.post(f"{API}/wallet/deposits/{deposit['id']}/refunds", json={"amount": 1000},
                       headers=headers).status_code == 201
    assert post(client, last_event(paypal, "PAYMENT.CAPTURE.REFUNDED")).get_json()["outcome"] == "already_applied"
    assert balance(student.id) == 2000


def test_reversal_takes_back_what_the_capture_still_holds(client, headers, student, paypal):
    deposit = captured_deposit(client, headers, paypal, 3000)
    assert client.post(f"{API}/wallet/deposits/{deposit['id']}/refunds", json={"amount": 500},
                       headers=headers).status_code == 201
    signed = paypal.reverse(deposit["capture_id"])
    assert post(client, signed).get_json()["outcome"] == "applied"
    assert balance(student.id) == 0
    assert ledger_problems() == []


def test_disputes_are_stored_for_the_queue(client, headers, auth, student, paypal):
    deposit = captured_deposit(client, headers, paypal, 3000)
    created = paypal.dispute(deposit["capture_id"], dispute_id="PP-D-42")
    assert post(client, created).get_json()["outcome"] == "applied"
    resolved = paypal.dispute(deposit["capture_id"], status="RESOLVED", dispute_id="PP-D-42")
    assert post(client, resolved).status_code == 200
    admin = auth.headers(UserFactory(roles=["admin"]))
    disputes = client.get(f"{API}/admin/paypal/disputes", headers=admin).get_json()
    assert len(disputes) == 1
    assert disputes[0]["dispute_id"] == "PP-D-42" and disputes[0]["status"] == "RESOLVED"
    assert disputes[0]["deposit_id"] == deposit["id"] and disputes[0]["amount_minor"] == 3000
    assert disputes[0]["last_event_type"] == "CUSTOMER.DISPUTE.RESOLVED"
    assert_error(client.get(f"{API}/admin/paypal/disputes", headers=headers), 403)
    assert balance(student.id) == 3000  # a dispute alone moves no money


def test_unknown_event_types_are_logged_and_ignored(client, paypal):
    signed = paypal.emit("CHECKOUT.ORDER.APPROVED", {"id": "ORDER-1"})
    assert post(client, signed).get_json()["outcome"] == "ignored"


def test_capture_for_an_unknown_order_is_unmatched(client, paypal):
    signed = paypal.emit("PAYMENT.CAPTURE.COMPLETED", {
        "id": "CAP-X", "status": "COMPLETED", "amount": {"currency_code": "USD", "value": "10.00"},
        "supplementary_data": {"related_ids": {"order_id": "NOPE"}}})
    assert post(client, signed).get_json()["outcome"] == "unmatched"


@pytest.mark.postgres
def test_the_same_event_delivered_concurrently_is_applied_once(app, client, headers, student, paypal, gateway):
    import threading

    deposit = start_deposit(client, headers, 2000)
    paypal.approve(deposit["order_id"])
    gateway.capture_order(deposit["order_id"], request_id="x")
    signed = last_event(paypal, "PAYMENT.CAPTURE.COMPLETED")
    barrier = threading.Barrier(5)
    statuses = []

    def deliver():
        with app.test_client() as own:
            barrier.wait()
            statuses.append(post(own, signed).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [409] * 4
    assert balance(student.id) == 2000
    assert ledger_problems() == []
