"""Shared plumbing: time, money, security helpers, the auth decorators and pagination."""
from datetime import UTC, datetime, timedelta, timezone

import pytest
from flask_jwt_extended import current_user
from marshmallow import ValidationError

from app.common.auth import auth_required, confirmed_email_required
from app.common.errors import Forbidden
from app.common.money import format_money, validate_currency
from app.common.security import (
    digest_matches,
    hash_password,
    keyed_digest,
    random_digits,
    verify_password,
)
from app.common.time import UTCDateTime, is_valid_timezone, utcnow, validate_timezone
from tests.conftest import assert_error
from tests.factories import UserFactory


def test_utc_column_refuses_naive_and_normalizes_aware(app):
    column = UTCDateTime()
    with pytest.raises(ValueError, match="naive"):
        column.process_bind_param(datetime(2026, 1, 1), app.extensions["sqlalchemy"].engine.dialect)
    paris = datetime(2026, 7, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    stored = column.process_bind_param(paris, app.extensions["sqlalchemy"].engine.dialect)
    assert stored.hour == 12
    assert column.process_result_value(datetime(2026, 7, 1, 12), None).tzinfo == UTC


def test_datetimes_round_trip_as_aware_utc(db):
    user = UserFactory()
    db.session.expire_all()
    assert user.created_at.tzinfo is not None and user.created_at.utcoffset() == timedelta(0)
    assert abs(utcnow() - user.created_at) < timedelta(minutes=1)


def test_timezones():
    assert is_valid_timezone("America/New_York") and not is_valid_timezone("Nowhere/City")
    assert not is_valid_timezone("") and not is_valid_timezone(None)
    with pytest.raises(ValidationError):
        validate_timezone("../../etc/passwd")


def test_money():
    assert format_money(123456, "USD") == "1234.56 USD"
    assert format_money(-5, "EUR") == "-0.05 EUR"
    assert format_money(1500, "JPY") == "1500 JPY"
    with pytest.raises(ValidationError):
        validate_currency("XYZ")


def test_security_helpers(app):
    with app.app_context():
        hashed = hash_password("a long enough password")
        assert verify_password(hashed, "a long enough password")
        assert not verify_password(hashed, "another password")
        assert not verify_password(None, "x") and not verify_password("not-a-hash", "x")
        assert digest_matches(keyed_digest("123456"), "123456") and not digest_matches(keyed_digest("1"), "2")
    digits = random_digits(6)
    assert len(digits) == 6 and digits.isdigit()


def test_confirmed_email_required(app, auth):
    @auth_required()
    @confirmed_email_required
    def book():
        return {"ok": current_user.id}

    unconfirmed = UserFactory(email_confirmed_at=None)
    confirmed = UserFactory()
    with app.test_request_context(headers=auth.headers(unconfirmed)), pytest.raises(Forbidden, match="email not confirmed"):
        book()
    with app.test_request_context(headers=auth.headers(confirmed)):
        assert book() == {"ok": confirmed.id}


def test_role_check_answers_403(client, auth):
    assert_error(client.get("/api/v1/admin/users", headers=auth.headers(UserFactory(roles=["tutor"]))), 403, "admin")
