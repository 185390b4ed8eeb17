"""The gateway's real code (paypalrestsdk's Api over HTTP) against the local simulator."""
import socket

import pytest

from app.payments.paypal import (
    PayPalGateway,
    PayPalRejected,
    PayPalUnavailable,
    to_decimal_string,
    to_minor_units,
)


def approve(simulator, order_id):
    simulator.approve(order_id)


def test_amounts_convert_exactly_both_ways():
    assert to_decimal_string(1050, "USD") == "10.50"
    assert to_decimal_string(5, "EUR") == "0.05"
    assert to_decimal_string(1200, "JPY") == "1200"
    assert to_minor_units("10.50", "USD") == 1050
    assert to_minor_units("10.5", "USD") == 1050
    assert to_minor_units("10", "USD") == 1000
    assert to_minor_units("1200", "JPY") == 1200
    with pytest.raises(PayPalRejected):
        to_minor_units("10.505", "USD")
    with pytest.raises(PayPalRejected):
        to_minor_units("1e3", "USD")


def test_order_create_approve_capture(gateway, paypal):
    order = gateway.create_order(2500, "USD", request_id="dep-1", reference="deposit-1")
    assert order.status == "CREATED"
    assert order.approve_url.endswith(f"/checkoutnow?token={order.id}")
    approve(paypal, order.id)
    assert gateway.get_order(order.id).status == "APPROVED"
    captured = gateway.capture_order(order.id, request_id="cap-1")
    assert captured.status == "COMPLETED"
    assert captured.capture_status == "COMPLETED"
    assert captured.captured_cents == 2500
    # The OAuth token came from the simulator's token endpoint and every call carried it.
    assert paypal.tokens


def test_request_id_replays_the_first_answer(gateway, paypal):
    first = gateway.create_order(1000, "EUR", request_id="same", reference="d")
    again = gateway.create_order(1000, "EUR", request_id="same", reference="d")
    assert first.id == again.id and len(paypal.orders) == 1
    approve(paypal, first.id)
    capture = gateway.capture_order(first.id, request_id="cap")
    assert gateway.capture_order(first.id, request_id="cap").capture_id == capture.capture_id


def test_capturing_twice_is_rejected_with_paypals_issue(gateway, paypal):
    order = gateway.create_order(1000, "USD", request_id="r1", reference="d")
    approve(paypal, order.id)
    gateway.capture_order(order.id, request_id="c1")
    with pytest.raises(PayPalRejected) as caught:  # a 422, which paypalrestsdk raises
        gateway.capture_order(order.id, request_id="c2")
    assert caught.value.status == 422 and caught.value.issue == "ORDER_ALREADY_CAPTURED"


def test_unapproved_order_cannot_be_captured(gateway, paypal):
    order = gateway.create_order(1000, "USD", request_id="r1", reference="d")
    with pytest.raises(PayPalRejected) as caught:
        gateway.capture_order(order.id, request_id="c1")
    assert caught.value.issue == "ORDER_NOT_APPROVED"


def test_a_400_returned_as_a_dict_by_the_library_is_a_rejection(gateway, paypal):
    gateway_api_post = gateway.api.post("v2/checkout/orders", {"intent": "AUTHORIZE"})
    assert set(gateway_api_post) == {"error"}  # the library's quirk, seen through its public API
    with pytest.raises(PayPalRejected) as caught:
        gateway.create_payout("batch-1", "tutor@example.com", 0, "USD", "note")
    assert caught.value.status in (400, 422)


def test_partial_refunds_up_to_the_capture(gateway, paypal):
    order = gateway.create_order(1000, "USD", request_id="r1", reference="d")
    approve(paypal, order.id)
    capture_id = gateway.capture_order(order.id, request_id="c1").capture_id
    first = gateway.refund_capture(capture_id, 400, "USD", request_id="rf1")
    assert first.amount_cents == 400 and first.status == "COMPLETED"
    assert gateway.refund_capture(capture_id, 400, "USD", request_id="rf1").id == first.id  # replayed
    gateway.refund_capture(capture_id, 600, "USD", request_id="rf2")
    with pytest.raises(PayPalRejected) as caught:
        gateway.refund_capture(capture_id, 1, "USD", request_id="rf3")
    assert caught.value.issue == "CAPTURE_FULLY_REFUNDED"


def test_payouts_and_their_status(gateway, paypal):
    payout = gateway.create_payout("batch-1", "tutor@example.com", 1500, "EUR", "Tutorhub earnings")
    assert payout.batch_id and payout.status == "PENDING"
    assert gateway.get_payout(payout.batch_id) == ("SUCCESS", ["SUCCESS"])
    failing = gateway.create_payout("batch-2", "nobody@fail.example", 100, "EUR", "x")
    assert gateway.get_payout(failing.batch_id)[1] == ["FAILED"]


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_outages(gateway, paypal, status):
    paypal.fail_next(status)
    with pytest.raises(PayPalUnavailable) as caught:
        gateway.create_order(1000, "USD", request_id="r1", reference="d")
    assert caught.value.code == 503
    assert not paypal.orders  # nothing was made; the same request id works afterwards
    assert gateway.create_order(1000, "USD", request_id="r1", reference="d").status == "CREATED"


def test_throttling_is_an_outage(gateway, paypal):
    paypal.fail_next(429)
    with pytest.raises(PayPalUnavailable):
        gateway.get_order("ANY")


def test_connection_refused_is_an_outage(live_simulator):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    gateway = PayPalGateway.from_config(live_simulator.config(PAYPAL_API_BASE=f"http://127.0.0.1:{closed_port}"))
    with pytest.raises(PayPalUnavailable):
        gateway.create_order(1000, "USD", request_id="r1", reference="d")


def test_wrong_credentials_are_an_outage_not_the_callers_fault(live_simulator, paypal):
    gateway = PayPalGateway.from_config(live_simulator.config(PAYPAL_CLIENT_SECRET="wrong"))
    with pytest.raises(PayPalUnavailable):
        gateway.create_order(1000, "USD", request_id="r1", reference="d")


def test_unknown_order_is_rejected(gateway, paypal):
    with pytest.raises(PayPalRejected) as caught:
        gateway.get_order("NOPE")
    assert caught.value.status == 404


def test_webhook_verification(gateway, paypal):
    _headers, event = paypal.emit("CUSTOMER.DISPUTE.CREATED", {"dispute_id": "PP-D-1"})
    headers = paypal.sign(event)
    assert gateway.verify_webhook(headers, event) is True
    assert gateway.verify_webhook(headers, {**event, "id": "WH-FORGED"}) is False
    assert gateway.verify_webhook({**headers, "PAYPAL-TRANSMISSION-SIG": "AAAA"}, event) is False
    assert gateway.verify_webhook({}, event) is False
    other = PayPalGateway(gateway.api, webhook_id="WH-SOMEONE-ELSE")
    assert other.verify_webhook(headers, event) is False
