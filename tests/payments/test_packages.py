"""Tutors' offers (packages and plans), buying a package, cancelling it pro rata, listing my credits."""
import pytest
import sqlalchemy as sa

from app.extensions import db
from app.payments.models import LedgerTransaction
from tests.conftest import assert_error
from tests.factories import TutorProfileFactory, UserFactory, fund_wallet
from tests.payments.conftest import balances, book, make_tutor
from tests.payments.package_helpers import (  # noqa: F401  (the autouse escrow check)
    API,
    PACKAGE,
    PLAN,
    _escrow_matches_holds_and_credits,
    bought,
    buy,
    key,
    offer,
    plan,
    purchase_row,
    subscribe,
    transaction_kinds,
)

# --- offers -------------------------------------------------------------------------------------------------


def test_a_tutor_offers_a_package_priced_from_the_rate_and_a_plan(client, auth, tutor):
    package = offer(client, auth, tutor)
    assert {k: package[k] for k in ("kind", "sessions", "duration", "discount_percent", "price_minor",
                                    "list_price_minor", "currency", "active")} == {
        "kind": "package", "sessions": 3, "duration": 60, "discount_percent": 10, "price_minor": 8100,
        "list_price_minor": 9000, "currency": "USD", "active": True}
    monthly = plan(client, auth, tutor)
    assert (monthly["price_minor"], monthly["list_price_minor"], monthly["currency"]) == (4000, None, "USD")
    mine = client.get(f"{API}/tutors/me/packages", headers=auth.headers(tutor)).get_json()
    assert [o["id"] for o in mine] == [package["id"], monthly["id"]]
    public = client.get(f"{API}/tutors/{tutor.id}/packages").get_json()
    assert [o["id"] for o in public] == [package["id"], monthly["id"]]
    plans = client.get(f"{API}/tutors/{tutor.id}/packages?kind=plan").get_json()
    assert [o["id"] for o in plans] == [monthly["id"]]


@pytest.mark.parametrize("payload, field", [
    ({"duration": 50}, "duration"),
    ({"duration": 0}, "duration"),
    ({"discount_percent": 91}, "discount_percent"),
    ({"discount_percent": -1}, "discount_percent"),
    ({"sessions": 0}, "sessions"),
    ({"sessions": 51}, "sessions"),
    ({"sessions": 2.5}, "sessions"),
    ({"kind": "bundle"}, "kind"),
    ({"title": ""}, "title"),
    ({"price_minor": 5000}, "price_minor"),
    ({"kind": "plan", "discount_percent": 0}, "price_minor"),
    ({**PLAN, "price_minor": 10.5}, "price_minor"),
    ({**PLAN, "price_minor": 0}, "price_minor"),
    ({**PLAN, "price_minor": 3}, "price_minor"),
    ({**PLAN, "currency": "EUR"}, "currency"),
    ({**PLAN, "currency": "XXX"}, "currency"),
    ({"extra": 1}, "extra"),
    ({**PLAN, "discount_percent": 5}, "discount_percent"),
])
def test_bad_offers_are_422_on_the_field(client, auth, tutor, payload, field):
    base = PLAN if payload.get("kind") == "plan" and "title" in payload else PACKAGE
    response = client.post(f"{API}/tutors/me/packages", json={**base, **payload}, headers=auth.headers(tutor))
    body = assert_error(response, 422)
    assert field in body["errors"], body
    assert client.get(f"{API}/tutors/me/packages", headers=auth.headers(tutor)).get_json() == []


def test_offers_need_a_tutor_with_a_rate_and_the_tutor_role(client, auth, tutor):
    no_profile = make_tutor()
    assert_error(client.post(f"{API}/tutors/me/packages", json=PACKAGE, headers=auth.headers(no_profile)), 409,
                 "profile")
    unpriced = make_tutor()
    TutorProfileFactory(user=unpriced, rate_cents=0, currency="USD")
    assert_error(client.post(f"{API}/tutors/me/packages", json=PACKAGE, headers=auth.headers(unpriced)), 409, "rate")
    assert plan(client, auth, unpriced)["price_minor"] == 4000  # a plan carries its own price
    student = UserFactory(roles=["student"])
    assert_error(client.post(f"{API}/tutors/me/packages", json=PACKAGE, headers=auth.headers(student)), 403)
    assert_error(client.post(f"{API}/tutors/me/packages", json=PACKAGE), 401)
    assert_error(client.get(f"{API}/tutors/me/packages", headers=auth.headers(student)), 403)


def test_too_many_active_offers_is_409(client, auth, tutor):
    for number in range(20):
        offer(client, auth, tutor, title=f"Package {number}")
    assert_error(client.post(f"{API}/tutors/me/packages", json=PACKAGE, headers=auth.headers(tutor)), 409)


def test_patch_changes_terms_and_deactivates(client, auth, tutor):
    package = offer(client, auth, tutor)
    url = f"{API}/tutors/me/packages/{package['id']}"
    changed = client.patch(url, json={"discount_percent": 0, "sessions": 2}, headers=auth.headers(tutor)).get_json()
    assert (changed["price_minor"], changed["sessions"]) == (6000, 2)
    assert client.patch(url, json={"active": False}, headers=auth.headers(tutor)).get_json()["active"] is False
    assert client.get(f"{API}/tutors/{tutor.id}/packages").get_json() == []
    monthly = plan(client, auth, tutor)
    repriced = client.patch(f"{API}/tutors/me/packages/{monthly['id']}", json={"price_minor": 5000},
                            headers=auth.headers(tutor)).get_json()
    assert repriced["price_minor"] == 5000


@pytest.mark.parametrize("payload, status, field", [
    ({}, 422, "_schema"),
    ({"discount_percent": 95}, 422, "discount_percent"),
    ({"duration": 55}, 422, "duration"),
    ({"price_minor": 100}, 422, "price_minor"),
    ({"kind": "plan"}, 422, "kind"),
])
def test_bad_patches_are_422(client, auth, tutor, payload, status, field):
    package = offer(client, auth, tutor)
    body = assert_error(client.patch(f"{API}/tutors/me/packages/{package['id']}", json=payload,
                                     headers=auth.headers(tutor)), status)
    assert field in body["errors"]


def test_a_plan_patch_keeps_at_least_a_minor_unit_per_session(client, auth, tutor):
    monthly = plan(client, auth, tutor)
    body = assert_error(client.patch(f"{API}/tutors/me/packages/{monthly['id']}", json={"price_minor": 3},
                                     headers=auth.headers(tutor)), 422)
    assert "price_minor" in body["errors"]
    body = assert_error(client.patch(f"{API}/tutors/me/packages/{monthly['id']}", json={"discount_percent": 5},
                                     headers=auth.headers(tutor)), 422)
    assert "discount_percent" in body["errors"]


def test_another_tutors_offer_is_404(client, auth, tutor):
    package = offer(client, auth, tutor)
    other = make_tutor()
    TutorProfileFactory(user=other, rate_cents=2000, currency="USD")
    url = f"{API}/tutors/me/packages/{package['id']}"
    assert_error(client.patch(url, json={"active": False}, headers=auth.headers(other)), 404)
    assert_error(client.delete(url, headers=auth.headers(other)), 404)
    assert_error(client.patch(f"{API}/tutors/me/packages/999999", json={"active": False},
                              headers=auth.headers(tutor)), 404)
    assert client.get(f"{API}/tutors/{tutor.id}/packages").get_json()[0]["active"] is True


def test_delete_removes_an_unbought_offer_and_deactivates_a_bought_one(client, auth, tutor, student):
    unbought = offer(client, auth, tutor)
    assert client.delete(f"{API}/tutors/me/packages/{unbought['id']}", headers=auth.headers(tutor)).status_code == 204
    assert client.get(f"{API}/tutors/me/packages", headers=auth.headers(tutor)).get_json() == []
    package = offer(client, auth, tutor)
    purchase = bought(client, auth, student, package["id"])
    assert client.delete(f"{API}/tutors/me/packages/{package['id']}", headers=auth.headers(tutor)).status_code == 204
    mine = client.get(f"{API}/tutors/me/packages", headers=auth.headers(tutor)).get_json()
    assert [(o["id"], o["active"]) for o in mine] == [(package["id"], False)]
    assert client.get(f"{API}/tutors/{tutor.id}/packages").get_json() == []
    assert_error(buy(client, auth, UserFactory(), package["id"]), 404)
    assert purchase_row(purchase["id"])["state"] == "active"  # what was bought stays valid


def test_public_listing_of_an_unknown_tutor_or_kind(client):
    assert_error(client.get(f"{API}/tutors/999999/packages"), 404)
    assert "kind" in assert_error(client.get(f"{API}/tutors/1/packages?kind=bundle"), 422)["errors"]


# --- buying -------------------------------------------------------------------------------------------------


def test_buying_moves_the_price_from_the_wallet_to_escrow_as_credits(client, auth, tutor, student):
    package = offer(client, auth, tutor)
    response = buy(client, auth, student, package["id"], headers={"Idempotency-Key": "buy-1"})
    assert response.status_code == 201, response.get_json()
    purchase = response.get_json()
    assert {k: purchase[k] for k in ("kind", "tutor_id", "duration", "credits_total", "credits_used",
                                     "credits_left", "price_minor", "held_minor", "currency", "state")} == {
        "kind": "package", "tutor_id": tutor.id, "duration": 60, "credits_total": 3, "credits_used": 0,
        "credits_left": 3, "price_minor": 8100, "held_minor": 8100, "currency": "USD", "state": "active"}
    assert balances(student.id) == {"wallet": 1900}
    assert balances(None)["escrow"] == 8100
    charge = db.session.scalar(sa.select(LedgerTransaction).where(LedgerTransaction.kind == "package_purchase"))
    assert (charge.cause_type, charge.cause_id, charge.idempotency_key) == ("package_purchase", purchase["id"], "buy-1")
    # the same key again replays the first answer and charges nothing more
    replay = buy(client, auth, student, package["id"], headers={"Idempotency-Key": "buy-1"})
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_json()["id"] == purchase["id"]
    assert balances(student.id) == {"wallet": 1900}
    holdings = client.get(f"{API}/me/packages", headers=auth.headers(student)).get_json()
    assert [p["id"] for p in holdings["purchases"]] == [purchase["id"]] and holdings["subscriptions"] == []
    entries = client.get(f"{API}/wallet/transactions?kind=package_purchase", headers=auth.headers(student)).get_json()
    assert [(e["amount_minor"], e["cause_type"], e["cause_id"]) for e in entries] == [
        (-8100, "package_purchase", purchase["id"])]
    wallet = client.get(f"{API}/wallet", headers=auth.headers(student)).get_json()["balances"]
    assert wallet == [{"currency": "USD", "available_minor": 1900, "held_minor": 0, "credits_minor": 8100,
                       "payable_minor": 0}]


def test_buying_without_enough_money_is_402_and_records_nothing(client, auth, tutor):
    package = offer(client, auth, tutor)
    poor = UserFactory()
    fund_wallet(poor, 8000)
    body = assert_error(buy(client, auth, poor, package["id"]), 402, "insufficient")
    assert body["errors"]["shortfall"]["amount_minor"] == 100
    assert balances(poor.id) == {"wallet": 8000}
    assert client.get(f"{API}/me/packages", headers=auth.headers(poor)).get_json()["purchases"] == []


def test_buying_refusals(client, auth, tutor, student):
    package = offer(client, auth, tutor)
    monthly = plan(client, auth, tutor)
    assert_error(buy(client, auth, tutor, package["id"]), 422, "own")
    assert_error(buy(client, auth, student, monthly["id"]), 404)  # a plan is subscribed to, not bought
    assert_error(buy(client, auth, student, 999999), 404)
    assert_error(client.post(f"{API}/packages/{package['id']}/purchases"), 401)
    unconfirmed = UserFactory(email_confirmed_at=None)
    assert_error(buy(client, auth, unconfirmed, package["id"]), 403)
    assert transaction_kinds() == ["seed_funding"]


def test_an_offer_whose_tutor_dropped_the_rate_cannot_be_bought(client, auth, tutor, student):
    package = offer(client, auth, tutor)
    db.session.execute(sa.text("UPDATE tutor_profiles SET rate_cents = 0"))
    db.session.commit()
    assert client.get(f"{API}/tutors/{tutor.id}/packages").get_json()[0]["price_minor"] == 0
    assert_error(buy(client, auth, student, package["id"]), 409, "rate")


# --- cancelling ---------------------------------------------------------------------------------------------


def test_cancelling_refunds_the_unused_credits_pro_rata(client, auth, march, tutor, student):
    purchase = bought(client, auth, student, offer(client, auth, tutor)["id"])
    booking = book(client, auth, student, tutor, use_credit=purchase["id"])
    assert booking.status_code == 201, booking.get_json()
    response = client.post(f"{API}/purchases/{purchase['id']}/cancel", headers={**auth.headers(student), **key()})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["state"], body["closed_minor"], body["credits_left"], body["held_minor"]) == ("cancelled", 5400, 0, 0)
    assert balances(student.id) == {"wallet": 1900 + 5400}
    assert balances(None)["escrow"] == 2700  # the booking's credit stays with the booking
    assert transaction_kinds()[-1] == "package_refund"
    assert_error(client.post(f"{API}/purchases/{purchase['id']}/cancel", headers=auth.headers(student)), 409)
    # the booking still settles: the tutor rejects it, its value (the purchase is closed) goes to the wallet
    assert client.post(f"{API}/bookings/{booking.get_json()['id']}/reject", headers=auth.headers(tutor)).status_code == 200
    assert balances(student.id) == {"wallet": 1900 + 8100}
    assert balances(None)["escrow"] == 0


def test_cancelling_an_untouched_package_refunds_it_all(client, auth, tutor, student):
    purchase = bought(client, auth, student, offer(client, auth, tutor, sessions=3, discount_percent=0)["id"])
    body = client.post(f"{API}/purchases/{purchase['id']}/cancel", headers=auth.headers(student)).get_json()
    assert body["closed_minor"] == 9000
    assert balances(student.id) == {"wallet": 10000}


def test_cancelling_someone_elses_or_a_plan_month(client, auth, tutor, student):
    purchase = bought(client, auth, student, offer(client, auth, tutor)["id"])
    assert_error(client.post(f"{API}/purchases/{purchase['id']}/cancel", headers=auth.headers(UserFactory())), 404)
    assert_error(client.post(f"{API}/purchases/{purchase['id']}/cancel", headers=auth.headers(tutor)), 404)
    assert_error(client.post(f"{API}/purchases/999999/cancel", headers=auth.headers(student)), 404)
    assert_error(client.post(f"{API}/purchases/{purchase['id']}/cancel"), 401)
    subscriber = UserFactory()
    fund_wallet(subscriber, 5000)
    assert subscribe(client, auth, subscriber, plan(client, auth, tutor)["id"]).status_code == 201
    month = client.get(f"{API}/me/packages", headers=auth.headers(subscriber)).get_json()["purchases"][0]
    assert_error(client.post(f"{API}/purchases/{month['id']}/cancel", headers=auth.headers(subscriber)), 409,
                 "subscription")
    assert purchase_row(purchase["id"])["state"] == "active"


def test_my_purchases_are_paginated_and_filtered(client, auth, tutor, student):
    package = offer(client, auth, tutor, sessions=1, discount_percent=0)
    ids = [bought(client, auth, student, package["id"])["id"] for _ in range(3)]
    client.post(f"{API}/purchases/{ids[0]}/cancel", headers=auth.headers(student))
    response = client.get(f"{API}/me/packages/purchases?page_size=2", headers=auth.headers(student))
    assert [p["id"] for p in response.get_json()] == [ids[2], ids[1]]
    assert '"total": 3' in response.headers["X-Pagination"]
    cancelled = client.get(f"{API}/me/packages/purchases?state=cancelled", headers=auth.headers(student)).get_json()
    assert [p["id"] for p in cancelled] == [ids[0]]
    assert "state" in assert_error(client.get(f"{API}/me/packages/purchases?state=gone",
                                              headers=auth.headers(student)), 422)["errors"]
    assert_error(client.get(f"{API}/me/packages/purchases?page_size=1000", headers=auth.headers(student)), 422)
    assert client.get(f"{API}/me/packages/purchases", headers=auth.headers(UserFactory())).get_json() == []
    assert_error(client.get(f"{API}/me/packages"), 401)


def test_a_tutor_without_a_rate_can_still_rename_and_withdraw_an_offer(client, auth, tutor):
    package = offer(client, auth, tutor)
    db.session.execute(sa.text("UPDATE tutor_profiles SET rate_cents = 0"))
    db.session.commit()
    url = f"{API}/tutors/me/packages/{package['id']}"
    response = client.patch(url, json={"title": "Old hours", "active": False}, headers=auth.headers(tutor))
    assert response.status_code == 200, response.get_json()
    assert (response.get_json()["title"], response.get_json()["active"]) == ("Old hours", False)
    assert_error(client.patch(url, json={"sessions": 4}, headers=auth.headers(tutor)), 409, "rate")
