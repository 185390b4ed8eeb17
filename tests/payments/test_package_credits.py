"""A booking paid with a package credit: consumed when requested, given back when refunded in full, and settled
like a wallet-paid booking otherwise (commission, dispute window, exactly once)."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.payments.models import Hold
from app.payments.package_models import PackageCreditUse
from tests.conftest import assert_error
from tests.factories import TutorProfileFactory, UserFactory, fund_wallet
from tests.payments.conftest import MONDAY_0900_EDT, balances, book, make_tutor, utc
from tests.payments.package_helpers import (  # noqa: F401  (the autouse escrow check)
    API,
    _escrow_matches_holds_and_credits,
    bought,
    offer,
    purchase_row,
    transaction_kinds,
)


@pytest.fixture(autouse=True)
def _no_pending_cap(app, monkeypatch):
    monkeypatch.setitem(app.config, "BOOKING_MAX_PENDING_PER_TUTOR", 0)  # several credits go to one tutor here


@pytest.fixture
def purchase(client, auth, tutor, student):
    return bought(client, auth, student, offer(client, auth, tutor)["id"])


def _credit_booking(client, auth, student, tutor, purchase, start=MONDAY_0900_EDT, **extra):
    response = book(client, auth, student, tutor, start=start, use_credit=purchase["id"], **extra)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_credit_pays_the_booking_and_the_wallet_is_untouched(client, auth, march, tutor, student, purchase):
    booking = _credit_booking(client, auth, student, tutor, purchase)
    assert (booking["price_minor"], booking["currency"]) == (2700, "USD")
    assert balances(student.id) == {"wallet": 1900}
    assert purchase_row(purchase["id"]) == {"credits_used": 1, "held_minor": 5400, "state": "active"}
    assert transaction_kinds() == ["seed_funding", "package_purchase"]  # no money moved for the booking
    wallet = client.get(f"{API}/wallet", headers=auth.headers(student)).get_json()
    assert [(h["cause_id"], h["amount_minor"]) for h in wallet["pending_holds"]] == [(booking["id"], 2700)]
    assert [(b["available_minor"], b["held_minor"], b["credits_minor"]) for b in wallet["balances"]] == [
        (1900, 2700, 5400)]
    mine = client.get(f"{API}/me/packages", headers=auth.headers(student)).get_json()["purchases"][0]
    assert (mine["credits_left"], mine["credits_used"]) == (2, 1)


def test_three_credits_add_up_to_the_price(client, auth, march, tutor, student):
    purchase = bought(client, auth, student, offer(client, auth, tutor, sessions=3, discount_percent=33)["id"])
    assert purchase["price_minor"] == 6030  # 9000 less 33 %
    prices = [_credit_booking(client, auth, student, tutor, purchase, start=MONDAY_0900_EDT + timedelta(hours=i))
              ["price_minor"] for i in range(3)]
    assert prices == [2010, 2010, 2010]
    assert purchase_row(purchase["id"]) == {"credits_used": 3, "held_minor": 0, "state": "active"}
    assert_error(book(client, auth, student, tutor, start=MONDAY_0900_EDT + timedelta(hours=4),
                      use_credit=purchase["id"]), 409, "no credit left")


def test_uneven_prices_spread_the_remainder_over_the_credits(client, auth, march, tutor, student):
    from tests.payments.package_helpers import plan, subscribe

    monthly = plan(client, auth, tutor, sessions=3, price_minor=4001)
    assert subscribe(client, auth, student, monthly["id"]).status_code == 201
    month = client.get(f"{API}/me/packages", headers=auth.headers(student)).get_json()["purchases"][0]
    prices = [_credit_booking(client, auth, student, tutor, month, start=MONDAY_0900_EDT + timedelta(hours=i),
                              duration=30)["price_minor"] for i in range(3)]
    assert prices == [1333, 1334, 1334]
    assert purchase_row(month["id"]) == {"credits_used": 3, "held_minor": 0, "state": "active"}


@pytest.mark.parametrize("change, status, field", [
    ({"duration": 30}, 422, "duration"),
    ({"currency": "EUR"}, 422, "currency"),
    ({"use_credit": 999999}, 404, None),
    ({"use_credit": 0}, 422, "use_credit"),
    ({"use_credit": "one"}, 422, "use_credit"),
])
def test_bad_credit_bookings(client, auth, march, tutor, student, purchase, change, status, field):
    response = book(client, auth, student, tutor, **{"use_credit": purchase["id"], **change})
    body = assert_error(response, status)
    if field:
        assert field in body["errors"], body
    assert purchase_row(purchase["id"])["credits_used"] == 0
    assert balances(student.id) == {"wallet": 1900}


def test_a_credit_is_for_its_tutor_and_its_owner(client, auth, march, tutor, student, purchase):
    other_tutor = make_tutor(session_lengths=[60])
    TutorProfileFactory(user=other_tutor, rate_cents=3000, currency="USD")
    body = assert_error(book(client, auth, student, other_tutor, use_credit=purchase["id"]), 422)
    assert "use_credit" in body["errors"]
    stranger = UserFactory()
    fund_wallet(stranger, 5000)
    assert_error(book(client, auth, stranger, tutor, use_credit=purchase["id"]), 404)
    assert purchase_row(purchase["id"])["credits_used"] == 0
    assert balances(stranger.id) == {"wallet": 5000}


def test_a_cancelled_package_has_no_credit_left(client, auth, march, tutor, student, purchase):
    client.post(f"{API}/purchases/{purchase['id']}/cancel", headers=auth.headers(student))
    assert_error(book(client, auth, student, tutor, use_credit=purchase["id"]), 409, "no credit left")


@pytest.mark.parametrize("ending", ["reject", "cancel", "expire"])
def test_a_booking_refunded_in_full_gives_the_credit_back(client, auth, freeze, march, tutor, student, purchase,
                                                          ending):
    booking = _credit_booking(client, auth, student, tutor, purchase)
    if ending == "reject":
        response = client.post(f"{API}/bookings/{booking['id']}/reject", json={}, headers=auth.headers(tutor))
    elif ending == "cancel":
        response = client.post(f"{API}/bookings/{booking['id']}/cancel", json={"reason": "plans changed"},
                               headers=auth.headers(student))
    else:
        from jobs import tasks

        freeze(MONDAY_0900_EDT + timedelta(minutes=1))
        assert tasks.expire_booking_requests() == 1
        response = client.get(f"{API}/bookings/{booking['id']}", headers=auth.headers(student))
    assert response.status_code == 200, response.get_json()
    assert purchase_row(purchase["id"]) == {"credits_used": 0, "held_minor": 8100, "state": "active"}
    assert balances(student.id) == {"wallet": 1900}
    hold = db.session.scalar(sa.select(Hold).where(Hold.cause_id == booking["id"]))
    assert (hold.state, hold.outcome, hold.settle_transaction_id) == ("settled", "credit_returned", None)
    assert "booking_settlement" not in transaction_kinds()
    use = db.session.scalar(sa.select(PackageCreditUse))
    assert use.state == "returned"
    db.session.rollback()


def test_a_late_cancellation_spends_the_credit_and_splits_its_value(client, auth, freeze, tutor, student, purchase):
    freeze(utc(2026, 3, 1))
    booking = _credit_booking(client, auth, student, tutor, purchase)
    client.post(f"{API}/bookings/{booking['id']}/accept", headers=auth.headers(tutor))
    freeze(MONDAY_0900_EDT - timedelta(hours=2))  # inside the 24-hour window: 50 % back
    response = client.post(f"{API}/bookings/{booking['id']}/cancel", json={"reason": "ill"},
                           headers=auth.headers(student))
    assert response.status_code == 200
    assert purchase_row(purchase["id"]) == {"credits_used": 1, "held_minor": 5400, "state": "active"}
    assert balances(student.id) == {"wallet": 1900 + 1350}
    assert balances(tutor.id) == {"tutor_payable": 1350 - 202}
    assert balances(None)["platform_revenue"] == 202


def test_a_completed_credit_session_pays_the_tutor_after_the_window_once(client, auth, freeze, tutor, student,
                                                                         purchase):
    from jobs import tasks

    freeze(utc(2026, 3, 1))
    booking = _credit_booking(client, auth, student, tutor, purchase)
    client.post(f"{API}/bookings/{booking['id']}/accept", headers=auth.headers(tutor))
    freeze(MONDAY_0900_EDT + timedelta(hours=1))
    assert client.post(f"{API}/bookings/{booking['id']}/complete", headers=auth.headers(tutor)).status_code == 200
    assert tasks.release_due_escrow() == 0  # the dispute window
    freeze(MONDAY_0900_EDT + timedelta(days=3))
    assert tasks.release_due_escrow() == 1
    assert tasks.release_due_escrow() == 0
    assert balances(tutor.id) == {"tutor_payable": 2700 - 405}
    assert balances(None)["platform_revenue"] == 405
    assert balances(student.id) == {"wallet": 1900}
    assert purchase_row(purchase["id"]) == {"credits_used": 1, "held_minor": 5400, "state": "active"}


def test_a_tutor_no_show_gives_the_credit_back_and_an_admin_revival_uses_it_again(client, auth, freeze, tutor,
                                                                                  student, purchase):
    admin = UserFactory(roles=["admin"])
    freeze(utc(2026, 3, 1))
    booking = _credit_booking(client, auth, student, tutor, purchase)
    client.post(f"{API}/bookings/{booking['id']}/accept", headers=auth.headers(tutor))
    freeze(MONDAY_0900_EDT + timedelta(hours=1))
    response = client.post(f"{API}/admin/bookings/{booking['id']}/state", headers=auth.headers(admin),
                           json={"state": "no_show", "no_show_by": "tutor", "note": "tutor never came"})
    assert response.status_code == 200, response.get_json()
    assert purchase_row(purchase["id"]) == {"credits_used": 0, "held_minor": 8100, "state": "active"}
    response = client.post(f"{API}/admin/bookings/{booking['id']}/state", headers=auth.headers(admin),
                           json={"state": "confirmed", "note": "it was a mix-up"})
    assert response.status_code == 200, response.get_json()
    assert purchase_row(purchase["id"]) == {"credits_used": 1, "held_minor": 5400, "state": "active"}
    assert balances(student.id) == {"wallet": 1900}
