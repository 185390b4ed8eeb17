"""Earnings and finance reports: exact figures from known ledger postings, CSV equal to JSON, bad input, roles."""
import io
from datetime import timedelta

import pandas as pd
import pytest

from tests.conftest import assert_error
from tests.factories import TutorDocumentFactory, TutorProfileFactory, UserFactory, fund_wallet
from tests.payments.conftest import MONDAY_0900_EDT, RATE, book
from tests.scheduling.conftest import make_tutor, utc

EARNINGS = "/api/v1/tutors/me/earnings"
SUMMARY = "/api/v1/admin/finance/summary"
WINDOW = {"from": "2026-03-01T00:00:00Z", "to": "2026-03-15T00:00:00Z"}


@pytest.fixture
def ledger_clock(freeze):
    """The frozen clock, which also stamps ledger transactions (their default reads ``app.common.time``)."""
    return freeze


def _paid_tutor():
    from app.common.time import utcnow

    tutor = make_tutor(session_lengths=[30, 60, 90])
    from app.extensions import db

    tutor.mfa_enabled, tutor.email_confirmed_at = True, utcnow()
    db.session.commit()
    TutorProfileFactory(user=tutor, rate_cents=RATE, currency="USD")
    TutorDocumentFactory(tutor=tutor, kind="id_card", status="approved")
    TutorDocumentFactory(tutor=tutor, kind="diploma", status="approved")
    return tutor


def _ok(response):
    assert response.status_code == 200, response.get_json()
    return response


def _booked(client, auth, student, tutor, start, accept=True):
    response = book(client, auth, student, tutor, start=start)
    assert response.status_code == 201, response.get_json()
    booking_id = response.get_json()["id"]
    if accept:
        _ok(client.post(f"/api/v1/bookings/{booking_id}/accept", headers=auth.headers(tutor)))
    return booking_id


@pytest.fixture
def history(client, auth, ledger_clock, paypal):
    """Known postings over March 2026 (UTC):

    03-01 10:00  student funded 20000; four sessions of 3000 held (A, B, C with the tutor, D with another)
    03-02 09:00  C rejected by the tutor, D by the other tutor: 3000 + 3000 back to the wallet
    03-09 14:00  A completed (released after the 48 h dispute window)
    03-10 11:00  B cancelled by the student 2 h before: 50 % back (1500), 1275 to the tutor, 225 commission
    03-11 15:00  the release job settles A: 2550 to the tutor, 450 commission
    03-12 12:00  the tutor pays out 1000
    """
    from jobs import tasks

    ledger_clock(utc(2026, 3, 1, 10))
    tutor, other = _paid_tutor(), _paid_tutor()
    student = UserFactory(roles=["student"])
    fund_wallet(student, 20000)
    a = _booked(client, auth, student, tutor, MONDAY_0900_EDT)
    b = _booked(client, auth, student, tutor, MONDAY_0900_EDT + timedelta(days=1))
    c = _booked(client, auth, student, tutor, MONDAY_0900_EDT + timedelta(days=2), accept=False)
    d = _booked(client, auth, student, other, MONDAY_0900_EDT + timedelta(days=3), accept=False)
    ledger_clock(utc(2026, 3, 2, 9))
    for booking_id, who in ((c, tutor), (d, other)):
        _ok(client.post(f"/api/v1/bookings/{booking_id}/reject", json={}, headers=auth.headers(who)))
    ledger_clock(utc(2026, 3, 9, 14))
    _ok(client.post(f"/api/v1/bookings/{a}/complete", headers=auth.headers(tutor)))
    ledger_clock(utc(2026, 3, 10, 11))
    _ok(client.post(f"/api/v1/bookings/{b}/cancel", json={"reason": "sick"}, headers=auth.headers(student)))
    ledger_clock(utc(2026, 3, 11, 15))
    assert tasks.release_due_escrow() == 1
    ledger_clock(utc(2026, 3, 12, 12))
    headers = auth.headers(tutor)
    _ok(client.put("/api/v1/payouts/account", json={"paypal_email": "tess@example.com"}, headers=headers))
    response = client.post("/api/v1/payouts", json={"amount": 1000, "currency": "USD"}, headers=headers)
    assert response.status_code == 201, response.get_json()
    ledger_clock(utc(2026, 3, 20))
    return {"tutor": tutor, "other": other, "student": student, "admin": UserFactory(roles=["admin"])}


def _by_day(body, figure):
    return {row["period_start"][:10]: row[figure] for row in body["periods"] if row[figure]}


def test_tutor_earnings_per_day_with_exact_figures(client, auth, history):
    body = _ok(client.get(EARNINGS, query_string={**WINDOW, "group": "day"},
                          headers=auth.headers(history["tutor"]))).get_json()
    assert (body["from"], body["to"], body["group"], body["tz"]) == (
        "2026-03-01T00:00:00+00:00", "2026-03-15T00:00:00+00:00", "day", "UTC")
    assert len(body["periods"]) == 14  # every day of the window, zeros included
    assert body["periods"][0] == {"period_start": "2026-03-01T00:00:00+00:00",
                                  "period_end": "2026-03-02T00:00:00+00:00", "currency": "USD", "gross_minor": 0,
                                  "commission_minor": 0, "refunds_minor": 0, "net_minor": 0, "sessions": 0}
    assert _by_day(body, "gross_minor") == {"2026-03-10": 1500, "2026-03-11": 3000}
    assert _by_day(body, "commission_minor") == {"2026-03-10": 225, "2026-03-11": 450}
    assert _by_day(body, "net_minor") == {"2026-03-10": 1275, "2026-03-11": 2550}
    assert _by_day(body, "refunds_minor") == {"2026-03-02": 3000, "2026-03-10": 1500}  # C rejected, B's half
    assert _by_day(body, "sessions") == {"2026-03-10": 1, "2026-03-11": 1}
    assert body["totals"] == [{"currency": "USD", "gross_minor": 4500, "commission_minor": 675,
                               "refunds_minor": 4500, "net_minor": 3825, "sessions": 2}]
    # the other tutor's rejected session is theirs alone
    other = _ok(client.get(EARNINGS, query_string=WINDOW, headers=auth.headers(history["other"]))).get_json()
    assert other["totals"] == [{"currency": "USD", "gross_minor": 0, "commission_minor": 0, "refunds_minor": 3000,
                                "net_minor": 0, "sessions": 0}]


def test_weeks_and_months_are_cut_in_the_requested_zone(client, auth, history):
    headers = auth.headers(history["tutor"])
    weeks = _ok(client.get(EARNINGS, query_string={**WINDOW, "group": "week"}, headers=headers)).get_json()
    # 2026-03-01 is a Sunday: its ISO week is clipped to one day, then whole Monday-to-Sunday weeks
    assert [(row["period_start"], row["period_end"], row["net_minor"]) for row in weeks["periods"]] == [
        ("2026-03-01T00:00:00+00:00", "2026-03-02T00:00:00+00:00", 0),
        ("2026-03-02T00:00:00+00:00", "2026-03-09T00:00:00+00:00", 0),
        ("2026-03-09T00:00:00+00:00", "2026-03-15T00:00:00+00:00", 3825)]
    tokyo = _ok(client.get(EARNINGS, query_string={"from": "2026-02-01T00:00:00+09:00",
                                                   "to": "2026-04-01T00:00:00+09:00", "group": "month",
                                                   "tz": "Asia/Tokyo"}, headers=headers)).get_json()
    assert [(row["period_start"], row["gross_minor"]) for row in tokyo["periods"]] == [
        ("2026-02-01T00:00:00+09:00", 0), ("2026-03-01T00:00:00+09:00", 4500)]


def test_admin_summary_with_exact_figures(client, auth, history):
    body = _ok(client.get(SUMMARY, query_string={**WINDOW, "group": "day"},
                          headers=auth.headers(history["admin"]))).get_json()
    assert len(body["periods"]) == 14
    assert _by_day(body, "gmv_minor") == {"2026-03-01": 12000}
    assert _by_day(body, "deposits_minor") == {"2026-03-01": 20000}
    assert _by_day(body, "refunds_minor") == {"2026-03-02": 6000, "2026-03-10": 1500}
    assert _by_day(body, "revenue_minor") == {"2026-03-10": 225, "2026-03-11": 450}
    assert _by_day(body, "tutor_earnings_minor") == {"2026-03-10": 1275, "2026-03-11": 2550}
    assert _by_day(body, "payouts_minor") == {"2026-03-12": 1000}
    held = {row["period_start"][:10]: row["escrow_held_minor"] for row in body["periods"]}
    assert [held[f"2026-03-{day:02d}"] for day in range(1, 15)] == [12000, 6000] + [6000] * 7 + [3000] + [0] * 4
    assert body["totals"] == [{"currency": "USD", "gmv_minor": 12000, "revenue_minor": 675, "refunds_minor": 7500,
                               "tutor_earnings_minor": 3825, "deposits_minor": 20000, "deposit_refunds_minor": 0,
                               "payouts_minor": 1000, "payout_returns_minor": 0, "escrow_held_minor": 0}]


def test_escrow_held_opens_with_the_balance_before_from(client, auth, history):
    """A window starting after the holds: escrow held starts from the balance then, not from zero."""
    body = _ok(client.get(SUMMARY, query_string={"from": "2026-03-05T00:00:00Z", "to": "2026-03-12T00:00:00Z",
                                                 "group": "day"}, headers=auth.headers(history["admin"]))).get_json()
    assert [row["escrow_held_minor"] for row in body["periods"]] == [6000] * 5 + [3000, 0]
    assert body["totals"][0]["escrow_held_minor"] == 0 and body["totals"][0]["gmv_minor"] == 0
    # only one currency asked for: none of it in EUR
    eur = _ok(client.get(SUMMARY, query_string={**WINDOW, "currency": "EUR"},
                         headers=auth.headers(history["admin"]))).get_json()
    assert eur["periods"] == [] and eur["totals"] == []


@pytest.mark.parametrize("url, who", [(EARNINGS, "tutor"), (SUMMARY, "admin")])
@pytest.mark.parametrize("how", ["accept", "format"])
def test_csv_read_back_with_pandas_equals_the_json(client, auth, history, url, who, how):
    headers = auth.headers(history[who])
    query = {**WINDOW, "group": "week"}
    body = _ok(client.get(url, query_string=query, headers=headers)).get_json()
    if how == "accept":
        response = client.get(url, query_string=query, headers={**headers, "Accept": "text/csv"})
    else:
        response = client.get(url, query_string={**query, "format": "csv"}, headers=headers)
    _ok(response)
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    frame = pd.read_csv(io.StringIO(response.get_data(as_text=True)))
    assert frame.to_dict("records") == body["periods"]
    figures = [column for column in frame.columns if column not in ("period_start", "period_end", "currency")]
    sums = frame.groupby("currency")[figures].sum()
    if "escrow_held_minor" in figures:  # a level: its total is the last period's
        sums["escrow_held_minor"] = frame.groupby("currency")["escrow_held_minor"].last()
    assert sums.reset_index().to_dict("records") == body["totals"]


def test_json_stays_the_default(client, auth, history):
    headers = {**auth.headers(history["tutor"]), "Accept": "*/*"}
    response = _ok(client.get(EARNINGS, query_string=WINDOW, headers=headers))
    assert response.mimetype == "application/json"
    # an explicit format wins over the Accept header
    response = _ok(client.get(EARNINGS, query_string={**WINDOW, "format": "json"},
                              headers={**headers, "Accept": "text/csv"}))
    assert response.mimetype == "application/json"


def test_defaults_cover_the_last_ninety_days(client, auth, ledger_clock):
    ledger_clock(utc(2026, 6, 1, 12))
    tutor = UserFactory(roles=["tutor"])
    body = _ok(client.get(EARNINGS, headers=auth.headers(tutor))).get_json()
    assert (body["from"], body["to"], body["group"], body["tz"]) == (
        "2026-03-03T12:00:00+00:00", "2026-06-01T12:00:00+00:00", "day", "UTC")
    assert body["periods"] == [] and body["totals"] == []
    csv = _ok(client.get(EARNINGS, query_string={"format": "csv"}, headers=auth.headers(tutor)))
    assert csv.get_data(as_text=True) == ("period_start,period_end,currency,gross_minor,commission_minor,"
                                          "refunds_minor,net_minor,sessions\n")


@pytest.mark.parametrize("url", [EARNINGS, SUMMARY])
@pytest.mark.parametrize("query, field", [
    ({"from": "2026-03-01T00:00:00"}, "from"),
    ({"to": "2026-03-01T00:00:00"}, "to"),
    ({"from": "yesterday"}, "from"),
    ({"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "to"),
    ({"from": "2026-03-01T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "to"),
    ({"from": "2025-01-01T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "to"),
    ({"to": "2026-03-01T00:00:00Z", "from": "2024-03-01T00:00:00+05:00"}, "to"),
    ({"group": "year"}, "group"),
    ({"group": ""}, "group"),
    ({"tz": "Mars/Olympus"}, "tz"),
    ({"format": "xml"}, "format"),
])
def test_bad_input_is_422_in_the_standard_layout(client, auth, url, query, field):
    user = UserFactory(roles=["tutor", "admin"])
    response = client.get(url, query_string=query, headers=auth.headers(user))
    assert_error(response, 422)
    assert field in response.get_json()["errors"], response.get_json()


def test_summary_refuses_an_unknown_currency(client, auth):
    response = client.get(SUMMARY, query_string={"currency": "XYZ"}, headers=auth.headers(UserFactory(roles=["admin"])))
    assert_error(response, 422)
    assert "currency" in response.get_json()["errors"]


def test_earnings_are_for_tutors_only(client, auth):
    for roles in (["student"], ["admin"]):
        assert_error(client.get(EARNINGS, headers=auth.headers(UserFactory(roles=roles))), 403, "tutor")
    assert_error(client.get(EARNINGS), 401)


def test_summary_is_for_admins_only(client, auth):
    for roles in (["student"], ["tutor"]):
        assert_error(client.get(SUMMARY, headers=auth.headers(UserFactory(roles=roles))), 403, "admin")
        assert_error(client.get(SUMMARY, query_string={"format": "csv"},
                                headers=auth.headers(UserFactory(roles=roles))), 403)
    assert_error(client.get(SUMMARY), 401)


def test_openapi_documents_csv_as_an_alternative(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/tutors/me/earnings", "/api/v1/admin/finance/summary"):
        operation = spec["paths"][path]["get"]
        assert set(operation["responses"]["200"]["content"]) == {"application/json", "text/csv"}
        assert {"401", "403", "422"} <= set(operation["responses"])
        assert {p["name"] for p in operation["parameters"]} >= {"from", "to", "group", "tz", "format"}
    assert "gmv_minor" in spec["paths"]["/api/v1/admin/finance/summary"]["get"]["description"]


def test_every_kind_the_payments_code_posts_has_a_role():
    """A kind posted by app/payments without a role would silently count in no figure."""
    import re
    from pathlib import Path

    from app.payments.reports import TRANSACTION_ROLES
    from app.payments.services import BOOKING

    root = Path(__file__).resolve().parents[2] / "app" / "payments"
    source = "\n".join(path.read_text() for path in root.glob("*.py"))
    posted = set(re.findall(r'post\(\s*"([a-z_]+)"', source))  # ledger.post("payout", ...)
    for call in re.finditer(r"deposits\.take_back\(", source):  # webhooks: refunds at PayPal, reversals
        posted |= set(re.findall(r'"([a-z_]+)"\)\n', source[call.end():call.end() + 200])[:1])
    posted |= {f"{BOOKING}_hold", f"{BOOKING}_settlement", "seed_funding"}  # escrow.py, services.fund_wallet
    assert len(posted) >= 9 and posted <= set(TRANSACTION_ROLES), posted - set(TRANSACTION_ROLES)


def test_the_demo_shows_earnings_and_a_summary(client, auth):
    from app.seed import seed_demo

    users = seed_demo(market=False)
    maria = users["maria.garcia@tutorhub.test"]
    body = _ok(client.get(EARNINGS, headers=auth.headers(maria))).get_json()
    assert body["totals"] == [{"currency": "EUR", "gross_minor": 4500, "commission_minor": 675, "refunds_minor": 0,
                               "net_minor": 3825, "sessions": 1}]
    admin = users["admin@tutorhub.test"]
    summary = _ok(client.get(SUMMARY, headers=auth.headers(admin))).get_json()
    eur = next(row for row in summary["totals"] if row["currency"] == "EUR")
    assert eur["gmv_minor"] >= 4500 and eur["revenue_minor"] >= 675 and eur["deposits_minor"] >= 20000
