"""A booking's price is fixed and held when requested, and every way a booking ends settles it exactly once."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.common.transactions import unit_of_work
from app.extensions import db
from app.payments import services as payments
from app.payments.models import Hold, LedgerTransaction
from app.scheduling.models import Booking
from tests.conftest import assert_error
from tests.factories import UserFactory, fund_wallet
from tests.payments.conftest import MONDAY_0900_EDT, balances, book
from tests.scheduling.conftest import make_tutor, utc


def _release_job():
    from jobs import tasks

    return tasks.release_due_escrow()


def test_requesting_fixes_the_price_and_holds_it_in_escrow(client, auth, march, tutor, student):
    response = book(client, auth, student, tutor, duration=90)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["price_minor"], body["currency"]) == (4500, "USD")
    assert balances(student.id) == {"wallet": 5500}
    assert balances(None)["escrow"] == 4500
    wallet = client.get("/api/v1/wallet", headers=auth.headers(student)).get_json()
    assert wallet["balances"] == [{"currency": "USD", "available_minor": 5500, "held_minor": 4500,
                                   "credits_minor": 0, "payable_minor": 0}]
    assert [hold["cause_id"] for hold in wallet["pending_holds"]] == [body["id"]]
    # the price stays what it was when requested
    db.session.execute(sa.text("UPDATE tutor_profiles SET rate_cents = 9000"))
    db.session.commit()
    assert client.get(f"/api/v1/bookings/{body['id']}", headers=auth.headers(student)).get_json()["price_minor"] == 4500


def test_insufficient_funds_is_402_with_the_shortfall_and_books_nothing(client, auth, march, tutor):
    poor = UserFactory(roles=["student"])
    fund_wallet(poor, 1000)
    response = book(client, auth, poor, tutor)
    assert_error(response, 402, "Insufficient funds")
    assert response.get_json()["errors"]["shortfall"] == {"amount_minor": 2000, "currency": "USD",
                                                          "balance_minor": 1000}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 0
    assert balances(poor.id) == {"wallet": 1000}
    # no wallet at all: the whole price is short
    assert book(client, auth, UserFactory(), tutor).get_json()["errors"]["shortfall"]["amount_minor"] == 3000


def test_a_tutor_without_a_rate_gives_a_free_session_and_no_ledger_rows(client, auth, march):
    free_tutor = make_tutor()
    response = book(client, auth, UserFactory(), free_tutor)
    assert response.status_code == 201
    assert response.get_json()["price_minor"] == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LedgerTransaction)) == 0


@pytest.mark.parametrize("currency, status", [("EUR", 422), ("XYZ", 422), ("usd", 422), (5, 422)])
def test_a_currency_other_than_the_tutors_is_refused(client, auth, march, tutor, student, currency, status):
    response = book(client, auth, student, tutor, currency=currency)
    assert_error(response, status)
    errors = response.get_json()["errors"]
    assert "currency" in errors.get("json", errors)  # schema errors sit under their location
    assert balances(student.id) == {"wallet": 10000}
    assert book(client, auth, student, tutor, currency="USD").status_code == 201


def _booked(client, auth, student, tutor, **kwargs):
    response = book(client, auth, student, tutor, **kwargs)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def test_reject_refunds_in_full(client, auth, march, tutor, student):
    booking_id = _booked(client, auth, student, tutor)
    assert client.post(f"/api/v1/bookings/{booking_id}/reject", json={},
                       headers=auth.headers(tutor)).status_code == 200
    assert balances(student.id) == {"wallet": 10000}
    assert balances(None)["escrow"] == 0
    hold = db.session.scalar(sa.select(Hold))
    assert (hold.state, hold.outcome, hold.refund_percent) == ("settled", "rejected", 100)


def test_expiry_refunds_in_full(client, auth, freeze, tutor, student):
    freeze(utc(2026, 3, 1))
    booking_id = _booked(client, auth, student, tutor)
    from app.scheduling import services as scheduling

    with unit_of_work():
        assert scheduling.expire_stale_requests(now=MONDAY_0900_EDT + timedelta(minutes=1)) == 1
    assert db.session.get(Booking, booking_id).state == "expired"
    assert balances(student.id) == {"wallet": 10000}


def _confirmed(client, auth, student, tutor):
    booking_id = _booked(client, auth, student, tutor)
    assert client.post(f"/api/v1/bookings/{booking_id}/accept", headers=auth.headers(tutor)).status_code == 200
    return booking_id


def test_late_student_cancellation_splits_per_the_recorded_policy(client, auth, freeze, tutor, student):
    freeze(utc(2026, 3, 1))
    booking_id = _confirmed(client, auth, student, tutor)
    freeze(MONDAY_0900_EDT - timedelta(hours=2))  # inside the 24 h window: 50 % back
    response = client.post(f"/api/v1/bookings/{booking_id}/cancel", json={"reason": "sick"},
                           headers=auth.headers(student))
    assert response.status_code == 200
    assert response.get_json()["cancellation_policy"]["refund_percent"] == 50
    assert balances(student.id) == {"wallet": 8500}
    # 1500 left for the tutor: 15 % commission (225) to the platform
    assert balances(tutor.id) == {"tutor_payable": 1275}
    assert balances(None) == {"escrow": 0, "platform_revenue": 225, "external:paypal": -10000}


def test_tutor_cancellation_refunds_in_full(client, auth, freeze, tutor, student):
    freeze(utc(2026, 3, 1))
    booking_id = _confirmed(client, auth, student, tutor)
    freeze(MONDAY_0900_EDT - timedelta(hours=2))
    client.post(f"/api/v1/bookings/{booking_id}/cancel", json={"reason": "ill"}, headers=auth.headers(tutor))
    assert balances(student.id) == {"wallet": 10000}
    assert balances(tutor.id) == {}


def test_completion_pays_the_tutor_after_the_dispute_window_exactly_once(client, auth, freeze, app, tutor,
                                                                           student):
    freeze(utc(2026, 3, 1))
    booking_id = _confirmed(client, auth, student, tutor)
    done = freeze(MONDAY_0900_EDT + timedelta(hours=1))
    client.post(f"/api/v1/bookings/{booking_id}/complete", headers=auth.headers(tutor))
    hold = db.session.scalar(sa.select(Hold))
    assert hold.state == "held" and hold.release_after == done + timedelta(hours=48)
    db.session.rollback()
    freeze(done + timedelta(hours=47))
    assert _release_job() == 0
    assert balances(tutor.id) == {}
    freeze(done + timedelta(hours=48, seconds=1))
    assert _release_job() == 1
    assert _release_job() == 0  # a retried or second run moves nothing
    assert balances(tutor.id) == {"tutor_payable": 2550}
    assert balances(None)["platform_revenue"] == 450
    assert balances(student.id) == {"wallet": 7000}
    settlements = db.session.scalar(sa.select(sa.func.count()).select_from(LedgerTransaction)
                                    .where(LedgerTransaction.kind == "booking_settlement"))
    assert settlements == 1


def test_student_no_show_pays_the_tutor_after_the_window(client, auth, freeze, tutor, student):
    freeze(utc(2026, 3, 1))
    booking_id = _confirmed(client, auth, student, tutor)
    freeze(MONDAY_0900_EDT + timedelta(minutes=20))
    assert client.post(f"/api/v1/bookings/{booking_id}/no-show",
                       headers=auth.headers(tutor)).status_code == 200
    freeze(MONDAY_0900_EDT + timedelta(hours=49))
    assert _release_job() == 1
    assert balances(tutor.id) == {"tutor_payable": 2550}
    assert db.session.scalar(sa.select(Hold.outcome)) == "student_no_show"


def test_admin_overrides_settle_the_same_way(client, auth, freeze, tutor, student):
    freeze(utc(2026, 3, 1))
    admin = UserFactory(roles=["admin"])
    booking_id = _confirmed(client, auth, student, tutor)
    url = f"/api/v1/admin/bookings/{booking_id}/state"
    # tutor no-show: full refund at once
    response = client.post(url, json={"state": "no_show", "note": "tutor absent", "no_show_by": "tutor"},
                           headers=auth.headers(admin))
    assert response.status_code == 200, response.get_json()
    assert balances(student.id) == {"wallet": 10000}
    # revived: the price is held again; then completed: released after the window
    assert client.post(url, json={"state": "confirmed", "note": "mistake"},
                       headers=auth.headers(admin)).status_code == 200
    assert balances(student.id) == {"wallet": 7000}
    assert client.post(url, json={"state": "completed", "note": "done"}, headers=auth.headers(admin)).status_code == 200
    assert db.session.scalar(sa.select(Hold.release_after).where(Hold.state == "held")) is not None
    db.session.rollback()
    # cancelled by the admin before the release: per the recorded terms (early: full refund)
    assert client.post(url, json={"state": "cancelled", "note": "dispute"},
                       headers=auth.headers(admin)).status_code == 200
    assert balances(student.id) == {"wallet": 10000}
    assert payments.hold_count() == 0


def test_admin_no_show_by_is_checked(client, auth, march, tutor, student):
    booking_id = _confirmed(client, auth, student, tutor)
    response = client.post(f"/api/v1/admin/bookings/{booking_id}/state",
                           json={"state": "no_show", "note": "x", "no_show_by": "nobody"},
                           headers=auth.headers(UserFactory(roles=["admin"])))
    assert_error(response, 422)
    assert "no_show_by" in response.get_json()["errors"]


def test_settling_twice_moves_money_once(client, auth, march, tutor, student):
    booking_id = _booked(client, auth, student, tutor)
    with unit_of_work():
        payments.settle_booking(booking_id, "rejected")
    with unit_of_work():
        assert payments.settle_booking(booking_id, "rejected") is None
        assert payments.settle_booking(booking_id, "cancelled", 0) is None
    assert balances(student.id) == {"wallet": 10000}


def test_split_arithmetic_always_adds_up():
    for amount in (1, 7, 99, 3000, 4999, 123457):
        for refund in (0, 1, 33, 50, 99, 100):
            for commission in (0, 15, 100):
                parts = payments.split(amount, refund, commission)
                assert sum(parts) == amount and min(parts) >= 0
    assert payments.split(3000, 50, 15) == (1500, 1275, 225)
    assert payments.split(1, 50, 15) == (1, 0, 0)  # the payer's half-unit rounds their way


def test_another_users_booking_cannot_be_settled_by_them(client, auth, march, tutor, student):
    booking_id = _booked(client, auth, student, tutor)
    stranger = UserFactory()
    fund_wallet(stranger, 5000)
    for action, body in (("cancel", {"reason": "mine now"}), ("reject", {}), ("accept", None)):
        response = client.post(f"/api/v1/bookings/{booking_id}/{action}", json=body, headers=auth.headers(stranger))
        assert response.status_code in (403, 404)
    assert balances(student.id) == {"wallet": 7000}
    assert balances(stranger.id) == {"wallet": 5000}
    assert payments.hold_count(student.id) == 1
