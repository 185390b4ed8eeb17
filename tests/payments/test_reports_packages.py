"""Earnings and finance reports count packages and plans: sold in GMV, a cancelled package's refund, a plan
month's lapse paid to the tutor (not a session)."""
from tests.factories import UserFactory, fund_wallet
from tests.payments.conftest import utc
from tests.payments.package_helpers import (  # noqa: F401  (the autouse escrow check)
    API,
    _escrow_matches_holds_and_credits,
    bought,
    key,
    offer,
    plan,
    subscribe,
)

WINDOW = {"from": "2026-03-01T00:00:00Z", "to": "2026-04-02T00:00:00Z", "group": "month"}


def test_packages_and_plans_in_the_reports(client, auth, freeze, tutor, student):
    from jobs import tasks

    fund_wallet(student, 5000)
    freeze(utc(2026, 3, 1, 10))
    package = bought(client, auth, student, offer(client, auth, tutor)["id"])  # 3 hours less 10 %: 81.00
    assert subscribe(client, auth, student, plan(client, auth, tutor)["id"]).status_code == 201  # 40.00 a month
    freeze(utc(2026, 3, 2, 10))
    cancelled = client.post(f"{API}/purchases/{package['id']}/cancel", headers={**auth.headers(student), **key()})
    assert cancelled.status_code == 200, cancelled.get_json()
    freeze(utc(2026, 4, 1, 10, 5))  # a month after subscribing
    assert tasks.renew_subscriptions()["renewed"] == 1  # March's four unused credits lapse to the tutor

    earnings = client.get(f"{API}/tutors/me/earnings", query_string=WINDOW, headers=auth.headers(tutor)).get_json()
    assert earnings["totals"] == [{"currency": "USD", "gross_minor": 4000, "commission_minor": 600,
                                   "refunds_minor": 8100, "net_minor": 3400, "sessions": 0}]
    admin = UserFactory(roles=["admin"])
    summary = client.get(f"{API}/admin/finance/summary", query_string=WINDOW, headers=auth.headers(admin)).get_json()
    by_month = {row["period_start"][:7]: row for row in summary["periods"]}
    assert (by_month["2026-03"]["gmv_minor"], by_month["2026-04"]["gmv_minor"]) == (8100 + 4000, 4000)
    assert by_month["2026-03"]["refunds_minor"] == 8100
    assert (by_month["2026-04"]["revenue_minor"], by_month["2026-04"]["tutor_earnings_minor"]) == (600, 3400)
    assert by_month["2026-04"]["escrow_held_minor"] == 4000  # April's plan month, unused so far
