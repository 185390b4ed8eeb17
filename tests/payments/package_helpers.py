"""Helpers of the package tests: offers and purchases made through the API, and the escrow check every package
test ends with (escrow = the holds in escrow + every purchase's unused credits' money)."""
import uuid

import pytest
import sqlalchemy as sa

from app.extensions import db

API = "/api/v1"
# The payments conftest's tutor charges 30.00 USD an hour: 3 hours less 10 % is 81.00, 27.00 a credit.
PACKAGE = {"kind": "package", "title": "Three calculus hours", "sessions": 3, "duration": 60, "discount_percent": 10}
PLAN = {"kind": "plan", "title": "Weekly half hours", "sessions": 4, "duration": 30, "price_minor": 4000}


def key():
    return {"Idempotency-Key": uuid.uuid4().hex}


def offer(client, auth, tutor, base=PACKAGE, **changes):
    response = client.post(f"{API}/tutors/me/packages", json={**base, **changes}, headers=auth.headers(tutor))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def plan(client, auth, tutor, **changes):
    return offer(client, auth, tutor, base=PLAN, **changes)


def buy(client, auth, student, offer_id, headers=None):
    return client.post(f"{API}/packages/{offer_id}/purchases", headers={**auth.headers(student), **(headers or {})})


def bought(client, auth, student, offer_id):
    response = buy(client, auth, student, offer_id)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def subscribe(client, auth, student, offer_id, headers=None):
    return client.post(f"{API}/plans/{offer_id}/subscriptions", headers={**auth.headers(student), **(headers or {})})


def purchase_row(purchase_id):
    from app.payments.package_models import PackagePurchase

    db.session.rollback()
    row = db.session.get(PackagePurchase, purchase_id)
    values = {"credits_used": row.credits_used, "held_minor": row.held_minor, "state": row.state}
    db.session.rollback()
    return values


def transaction_kinds():
    from app.payments.models import LedgerTransaction

    db.session.rollback()
    kinds = db.session.scalars(sa.select(LedgerTransaction.kind).order_by(LedgerTransaction.id)).all()
    db.session.rollback()
    return kinds


def escrow_problems():
    """Per currency, escrow's balance against what should be in it: holds still held + purchases' held_minor."""
    from app.payments.models import Account, Hold
    from app.payments.package_models import PackagePurchase

    db.session.rollback()
    escrow = dict(db.session.execute(sa.select(Account.currency, Account.balance_minor)
                                     .where(Account.kind == "escrow")).all())
    holds = dict(db.session.execute(sa.select(Hold.currency, sa.func.sum(Hold.amount_minor))
                                    .where(Hold.state == "held").group_by(Hold.currency)).all())
    purchases = dict(db.session.execute(sa.select(PackagePurchase.currency, sa.func.sum(PackagePurchase.held_minor))
                                        .group_by(PackagePurchase.currency)).all())
    db.session.rollback()
    problems = []
    for currency in set(escrow) | set(holds) | set(purchases):
        expected = (holds.get(currency) or 0) + (purchases.get(currency) or 0)
        if escrow.get(currency, 0) != expected:
            problems.append(f"escrow {currency} holds {escrow.get(currency, 0)}, its holds and credits {expected}")
    return problems


@pytest.fixture(autouse=True)
def _escrow_matches_holds_and_credits(app):
    yield
    problems = escrow_problems()
    assert not problems, problems
