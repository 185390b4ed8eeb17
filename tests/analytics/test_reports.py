"""The four admin reports: exact figures, CSV and XLSX equal to JSON, roles, bad input."""
import io

import pandas as pd
import pytest

from tests.conftest import assert_error
from tests.factories import UserFactory

BASE = "/api/v1/admin/analytics"
WINDOW = {"from": "2026-03-01T00:00:00Z", "to": "2026-03-11T00:00:00Z"}
REPORTS = ("engagement", "matching", "marketplace", "quality")


def _get(client, auth, user, name, **params):
    return client.get(f"{BASE}/{name}", query_string={**WINDOW, **params}, headers=auth.headers(user))


def _json(client, auth, user, name, **params):
    response = _get(client, auth, user, name, **params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _by_subject(rows):
    return {row["subject"]: row for row in rows}


def test_engagement_figures(client, auth, platform):
    body = _json(client, auth, platform["admin"], "engagement")
    assert body["from"] == "2026-03-01T00:00:00+00:00" and body["to"] == "2026-03-11T00:00:00+00:00"
    assert len(body["periods"]) == 10
    total = body["totals"][0]
    # signups: s1 (03-01) and s2 (03-02); chat: 3 messages on 03-03 from 2 senders, 1 today
    assert (total["signups"], total["chat_messages"], total["chat_sender_days"]) == (2, 4, 3)
    march_3 = body["periods"][2]
    assert (march_3["active_user_days"], march_3["logins"], march_3["weekly_active_users"]) == (3, 2, 3)
    today = body["periods"][-1]  # computed live: s1's sign-in and the tutor's app
    assert today["logins"] == 1 and today["active_user_days"] == 2


def test_matching_funnel_per_subject(client, auth, platform):
    totals = _by_subject(_json(client, auth, platform["admin"], "matching")["totals"])
    calculus, physics = totals["calculus"], totals["physics"]
    assert (calculus["requested"], calculus["confirmed"], calculus["completed"]) == (3, 3, 1)
    assert (physics["requested"], physics["confirmed"], physics["completed"]) == (2, 1, 0)
    assert calculus["first_bookings"] == physics["first_bookings"] == 1
    assert calculus["avg_hours_to_first_booking"] == 47.0
    assert physics["request_to_confirmed_rate"] == 0.5


def test_matching_funnel_starts_at_the_tutors_shown(client, auth, platform):
    """shown → requested → completed from matching's log: tutors shown per response's subject, the bookings
    attributed to a shown tutor (not a repeat, not an outcome without a booking), their completions."""
    body = _json(client, auth, platform["admin"], "matching")
    totals = _by_subject(body["totals"])
    calculus, physics = totals["calculus"], totals["physics"]
    assert (calculus["shown"], calculus["match_requested"], calculus["match_completed"]) == (6, 2, 1)
    assert (physics["shown"], physics["match_requested"], physics["match_completed"]) == (2, 1, 0)
    assert calculus["shown_to_requested_rate"] == round(2 / 6, 4)
    assert calculus["match_requested_to_completed_rate"] == 0.5
    days = {(row["period_start"][:10], row["subject"]): row for row in body["periods"]}
    assert days[("2026-03-02", "calculus")]["shown"] == 3 and days[("2026-03-10", "calculus")]["shown"] == 3
    assert days[("2026-03-03", "calculus")]["match_requested"] == 1
    assert days[("2026-03-10", "calculus")]["match_requested"] == 1  # today, live
    assert days[("2026-03-05", "calculus")]["match_completed"] == 1


def test_matching_funnel_per_arm(client, auth, platform):
    """The funnel split by the arm that served each response (matching's log): calculus 03-02 fixed, physics and
    today's calculus (live) learned."""
    body = _json(client, auth, platform["admin"], "matching")
    totals = _by_subject(body["totals"])
    calculus, physics = totals["calculus"], totals["physics"]
    figures = ("shown", "match_requested", "match_completed")
    assert tuple(calculus[f"{f}_fixed"] for f in figures) == (3, 1, 1)
    assert tuple(calculus[f"{f}_learned"] for f in figures) == (3, 1, 0)
    assert tuple(physics[f"{f}_fixed"] for f in figures) == (0, 0, 0)
    assert tuple(physics[f"{f}_learned"] for f in figures) == (2, 1, 0)
    assert calculus["shown_to_requested_rate_fixed"] == calculus["shown_to_requested_rate_learned"] == 0.3333
    assert calculus["match_requested_to_completed_rate_fixed"] == 1.0
    assert calculus["match_requested_to_completed_rate_learned"] == 0.0
    assert physics["shown_to_requested_rate_fixed"] == 0.0 and physics["shown_to_requested_rate_learned"] == 0.5
    days = {(row["period_start"][:10], row["subject"]): row for row in body["periods"]}
    today = days[("2026-03-10", "calculus")]  # live
    assert (today["shown_learned"], today["match_requested_learned"], today["shown_fixed"]) == (3, 1, 0)


@pytest.mark.parametrize("group", ["day", "week", "month"])
def test_per_arm_figures_add_up_to_the_funnel(client, auth, platform, group):
    body = _json(client, auth, platform["admin"], "matching", group=group)
    for column in ("shown", "match_requested", "match_completed"):
        assert f"{column}_fixed" in body["columns"] and f"{column}_learned" in body["columns"]
        for row in body["periods"] + body["totals"]:
            assert row[f"{column}_fixed"] + row[f"{column}_learned"] == row[column], (column, row)


def test_openapi_documents_the_per_arm_columns(client):
    """Every per-arm column of the matching report is named in its OpenAPI description."""
    from app.analytics.reports import ARM_FUNNEL, ARM_RATES

    spec = client.get("/api/v1/openapi.json").get_json()
    description = spec["paths"]["/api/v1/admin/analytics/matching"]["get"]["description"]
    named = [c for c in (*ARM_FUNNEL, *(name for name, _f in ARM_RATES)) if c.endswith("_fixed")]
    assert len(named) == 5 and all(f"`{column}`" in description for column in named)
    assert "`shown_learned`" in description and "`…_learned`" in description


def test_matching_subject_filter(client, auth, platform):
    body = _json(client, auth, platform["admin"], "matching", subject="physics")
    assert {row["subject"] for row in body["periods"]} == {"physics"}
    assert body["totals"][0]["requested"] == 2


def test_marketplace_rates(client, auth, platform):
    total = _json(client, auth, platform["admin"], "marketplace")["totals"][0]
    # accepted: b1 after 2 h, today's after 1 h; rejected: 1 -> 2 of 3 answered
    assert (total["accepted"], total["rejected"], total["expired"]) == (2, 1, 0)
    assert total["acceptance_rate"] == pytest.approx(0.6667)
    assert total["avg_response_minutes"] == 90.0
    assert (total["completed"], total["cancelled"], total["no_shows"]) == (1, 1, 1)
    assert total["cancellation_rate"] == total["no_show_rate"] == pytest.approx(0.3333)


def test_marketplace_money_from_the_ledger(client, auth, platform):
    from app.analytics import queries
    from tests.factories import fund_wallet

    # a deposit moves no GMV; the report lists per-currency columns only for money that moved
    fund_wallet(platform["s1"], 5000)
    frame = queries.money(queries.instant(platform["s1"].created_at.date()).date(),
                          queries.instant(platform["s1"].created_at.date()).date())
    assert frame.empty or set(frame["metric"]) <= {"gmv_minor", "revenue_minor"}


def test_quality_distribution(client, auth, platform):
    body = _json(client, auth, platform["admin"], "quality", group="week")
    total = body["totals"][0]
    assert (total["reviews"], total["tutor_reviews"], total["rating_5"], total["rating_2"]) == (2, 1, 1, 1)
    assert total["average_rating"] == 3.5
    # 2026-03-01 is a Sunday: weeks [03-01], [03-02 … 03-08], [03-09 … 03-10]
    assert [p["period_start"][:10] for p in body["periods"]] == ["2026-03-01", "2026-03-02", "2026-03-09"]


@pytest.mark.parametrize("name", REPORTS)
@pytest.mark.parametrize("group", ["day", "week", "month"])
def test_csv_and_xlsx_read_back_with_the_json_totals(client, auth, platform, name, group):
    admin = platform["admin"]
    body = _json(client, auth, admin, name, group=group)
    csv = _get(client, auth, admin, name, group=group, format="csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    assert "attachment" in csv.headers["Content-Disposition"]
    xlsx = _get(client, auth, admin, name, group=group, format="xlsx")
    assert xlsx.status_code == 200 and xlsx.mimetype.endswith("spreadsheetml.sheet")
    from_csv = pd.read_csv(io.StringIO(csv.get_data(as_text=True)))
    from_xlsx = pd.read_excel(io.BytesIO(xlsx.data), sheet_name="periods")
    totals_sheet = pd.read_excel(io.BytesIO(xlsx.data), sheet_name="totals")
    assert list(from_csv.columns) == body["columns"] == list(from_xlsx.columns)
    assert len(from_csv) == len(body["periods"]) == len(from_xlsx)
    keys = ["subject"] if name == "matching" else []
    additive = [c for c in body["columns"] if c not in ("period_start", "period_end", "subject")
                and isinstance(body["periods"][0][c], int) and c != "weekly_active_users"]
    assert additive
    for frame in (from_csv, from_xlsx):
        sums = frame.groupby(keys)[additive].sum().reset_index() if keys else frame[additive].sum().to_frame().T
        for index, total in enumerate(sorted(body["totals"], key=lambda t: t.get("subject", ""))):
            for column in additive:
                assert int(sums.iloc[index][column]) == total[column], (name, column)
    assert len(totals_sheet) == len(body["totals"])


@pytest.mark.parametrize("name", REPORTS)
def test_non_admins_are_refused(client, auth, platform, name):
    assert_error(_get(client, auth, platform["s1"], name), 403)
    assert_error(_get(client, auth, platform["tutor"], name), 403)
    assert_error(client.get(f"{BASE}/{name}", query_string=WINDOW), 401)


@pytest.mark.parametrize("params, field", [
    ({"from": "2026-03-01T00:00:00"}, "from"),                                  # naive
    ({"to": "2026-03-10T00:00:00"}, "to"),                                      # naive
    ({"from": "2026-03-10T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "to"),    # to before from
    ({"from": "2025-01-01T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "to"),    # longer than 366 days
    ({"group": "year"}, "group"),
    ({"format": "pdf"}, "format"),
    ({"subject": "x" * 65}, "subject"),
])
def test_bad_input_is_422(client, auth, platform, params, field):
    response = client.get(f"{BASE}/engagement", query_string={**WINDOW, **params},
                          headers=auth.headers(platform["admin"]))
    body = assert_error(response, 422)
    assert field in str(body["errors"]), body


def test_max_days_is_configurable(app, client, auth, platform, monkeypatch):
    monkeypatch.setitem(app.config, "ANALYTICS_MAX_DAYS", 5)
    body = assert_error(_get(client, auth, platform["admin"], "quality"), 422)
    assert "5 days" in body["message"]


def test_unknown_report_is_404(client, auth, platform):
    assert_error(client.get(f"{BASE}/revenue", query_string=WINDOW, headers=auth.headers(platform["admin"])), 404)


def test_default_window_is_thirty_days_to_now(client, auth, platform):
    response = client.get(f"{BASE}/engagement", headers=auth.headers(UserFactory(roles=["admin"])))
    body = response.get_json()
    assert response.status_code == 200, body
    assert body["to"] == "2026-03-11T00:00:00+00:00" and body["from"] == "2026-02-08T00:00:00+00:00"
