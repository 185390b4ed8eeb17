"""Payments fixtures: a priced tutor (30.00 USD an hour) with weekday hours, a funded student, a frozen clock."""
import pytest
import sqlalchemy as sa

from tests.factories import SubjectFactory, TutorProfileFactory, UserFactory, fund_wallet
from tests.payments.paypal_fixtures import _live_simulator, gateway, live_simulator, paypal  # noqa: F401
from tests.scheduling.conftest import freeze, iso, make_tutor, utc  # noqa: F401  (fixtures and helpers)

MONDAY_0900_EDT = utc(2026, 3, 9, 13)
RATE = 3000


@pytest.fixture(autouse=True)
def _subjects(app):
    SubjectFactory(slug="calculus")


@pytest.fixture
def march(freeze):  # noqa: F811  (the imported fixture)
    return freeze(utc(2026, 3, 1))


@pytest.fixture
def tutor(app):
    tutor = make_tutor(session_lengths=[30, 60, 90])
    TutorProfileFactory(user=tutor, rate_cents=RATE, currency="USD")
    return tutor


@pytest.fixture
def student(app):
    student = UserFactory(roles=["student"])
    fund_wallet(student, 10000)
    return student


def book(client, auth, student, tutor, start=MONDAY_0900_EDT, duration=60, headers=None, **extra):
    payload = {"tutor_id": tutor.id, "start": iso(start), "duration": duration, "subject": "calculus", **extra}
    return client.post("/api/v1/bookings", json=payload, headers={**auth.headers(student), **(headers or {})})


def balances(user_id, currency="USD"):
    """{kind: balance} of a user's accounts (and the platform's, for user_id None)."""
    from app.extensions import db
    from app.payments.models import Account

    owner = Account.owner_id.is_(None) if user_id is None else Account.owner_id == user_id
    rows = db.session.execute(sa.select(Account.kind, Account.balance_minor)
                              .where(owner, Account.currency == currency)).all()
    db.session.rollback()
    return dict(rows)
