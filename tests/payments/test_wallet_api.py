"""GET /wallet and GET /wallet/transactions: my balances and my entries only, confirmed email required."""
import sqlalchemy as sa

from app.extensions import db
from tests.conftest import assert_error
from tests.factories import UserFactory, fund_wallet
from tests.payments.conftest import book


def test_wallet_needs_a_token_and_a_confirmed_email(client, auth):
    assert_error(client.get("/api/v1/wallet"), 401)
    assert_error(client.get("/api/v1/wallet/transactions"), 401)
    unconfirmed = UserFactory(email_confirmed_at=None)
    assert_error(client.get("/api/v1/wallet", headers=auth.headers(unconfirmed)), 403, "email not confirmed")
    assert_error(client.get("/api/v1/wallet/transactions", headers=auth.headers(unconfirmed)), 403)


def test_an_empty_wallet(client, auth):
    response = client.get("/api/v1/wallet", headers=auth.headers(UserFactory()))
    assert response.status_code == 200
    assert response.get_json() == {"balances": [], "pending_holds": []}


def test_transactions_list_my_entries_newest_first_with_filters(client, auth, march, tutor, student):
    fund_wallet(student, 500, memo="top-up")
    fund_wallet(UserFactory(), 999)  # someone else's money never shows
    assert book(client, auth, student, tutor).status_code == 201
    headers = auth.headers(student)
    response = client.get("/api/v1/wallet/transactions", headers=headers)
    assert response.status_code == 200
    entries = response.get_json()
    assert [(e["kind"], e["amount_minor"], e["account"]) for e in entries] == [
        ("booking_hold", -3000, "wallet"), ("seed_funding", 500, "wallet"), ("seed_funding", 10000, "wallet")]
    assert entries[0]["cause_type"] == "booking" and entries[1]["memo"] == "top-up"
    assert response.headers["X-Pagination"]
    only_holds = client.get("/api/v1/wallet/transactions?kind=booking_hold", headers=headers).get_json()
    assert [e["kind"] for e in only_holds] == ["booking_hold"]
    page = client.get("/api/v1/wallet/transactions?page_size=1&page=2", headers=headers).get_json()
    assert [e["amount_minor"] for e in page] == [500]
    created = db.session.scalar(sa.text("SELECT max(created_at) FROM ledger_transactions"))
    db.session.rollback()
    assert created is not None
    future = client.get("/api/v1/wallet/transactions?since=2100-01-01T00:00:00Z", headers=headers).get_json()
    past = client.get("/api/v1/wallet/transactions?until=2000-01-01T00:00:00Z", headers=headers).get_json()
    assert future == past == []


def test_transactions_bad_input_is_422(client, auth):
    headers = auth.headers(UserFactory())
    for query in ("since=2026-03-01T00:00:00", "since=yesterday", "kind=" + "x" * 41,
                  "since=2026-03-02T00:00:00Z&until=2026-03-01T00:00:00Z", "page_size=1000", "page=0"):
        assert_error(client.get(f"/api/v1/wallet/transactions?{query}", headers=headers), 422)


def test_a_tutor_sees_held_and_payable_money(client, auth, march, tutor, student):
    booking_id = book(client, auth, student, tutor).get_json()["id"]
    client.post(f"/api/v1/bookings/{booking_id}/reject", json={}, headers=auth.headers(tutor))
    tutor_wallet = client.get("/api/v1/wallet", headers=auth.headers(tutor)).get_json()
    assert tutor_wallet == {"balances": [], "pending_holds": []}
    student_wallet = client.get("/api/v1/wallet", headers=auth.headers(student)).get_json()
    assert student_wallet["balances"][0]["available_minor"] == 10000
    assert student_wallet["pending_holds"] == []
