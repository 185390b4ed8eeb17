"""Portal page "Finance": the finance summary as a table and an inline SVG chart, filters, CSV download."""
import io
from datetime import timedelta

import pandas as pd
import pytest

from admin_portal.charts import chart_svg, csp_safe
from app.common.time import utcnow
from app.common.transactions import unit_of_work
from app.payments import services as payments
from tests.admin_portal.conftest import html
from tests.factories import UserFactory, fund_wallet


@pytest.fixture
def money(db):
    """Today: a student funds 100.00 USD; two sessions of 30.00 held; one settled with 50 % refunded."""
    student, tutor = UserFactory(roles=["student"]), UserFactory(roles=["tutor"])
    fund_wallet(student, 10000)
    with unit_of_work():
        payments.hold_for_booking(1, student.id, tutor.id, 3000, "USD")
        payments.hold_for_booking(2, student.id, tutor.id, 3000, "USD")
    with unit_of_work():
        payments.settle_booking(1, "cancelled", refund_percent=50)
    return student, tutor


def test_finance_page_shows_the_table_and_an_svg_chart(client, signed_in, money):
    response = client.get("/admin/finance")
    assert response.status_code == 200
    page = html(response)
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in page and 'aria-label="USD per week"' in page
    assert 'href="/admin/finance" aria-current="page">Finance</a>' in page  # in the navigation
    # totals: GMV 60.00, revenue 2.25 (15 % of 15.00), refunds 15.00, tutor 12.75, deposits 100.00, escrow 30.00
    total = page.split("<tfoot>")[1]
    for amount in ("60.00 USD", "2.25 USD", "15.00 USD", "12.75 USD", "100.00 USD", "30.00 USD"):
        assert amount in total
    # the chart obeys the page's Content-Security-Policy: no inline style anywhere
    assert "style=" not in page and "<style" not in page
    assert "style-src" not in response.headers["Content-Security-Policy"]
    assert 'href="/admin/finance.csv?' in page


def test_filters_pick_period_grouping_and_currency(client, signed_in, money):
    today = utcnow().date()
    page = html(client.get("/admin/finance", query_string={"from": (today - timedelta(days=2)).isoformat(),
                                                           "to": today.isoformat(), "group": "day"}))
    assert page.count('<tr>\n      <td><time') == 3  # three days, one currency
    assert f'value="{today.isoformat()}"' in page and '<option value="day" selected>' in page
    empty = html(client.get("/admin/finance", query_string={"currency": "EUR"}))
    assert "No money moved" in empty and "<svg" not in empty
    assert '<option value="EUR" selected>' in empty


@pytest.mark.parametrize("query, message", [
    ({"from": "03/01/2026"}, "Dates are YYYY-MM-DD"),
    ({"from": "2026-03-10", "to": "2026-03-01"}, "ends before it starts"),
    ({"from": "2020-01-01", "to": "2026-03-01"}, "at most 366 days"),
])
def test_unreadable_filters_fall_back_to_the_default_with_a_message(client, signed_in, money, query, message):
    response = client.get("/admin/finance", query_string=query)
    assert response.status_code == 200
    page = html(response)
    assert message in page and "<svg" in page


def test_csv_download_equals_the_report(client, signed_in, money):
    today = utcnow().date()
    query = {"from": (today - timedelta(days=6)).isoformat(), "to": today.isoformat(), "group": "day",
             "currency": "USD"}
    response = client.get("/admin/finance.csv", query_string=query)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    frame = pd.read_csv(io.StringIO(response.get_data(as_text=True)))
    assert len(frame) == 7 and set(frame["currency"]) == {"USD"}
    assert frame["gmv_minor"].sum() == 6000 and frame["escrow_held_minor"].iloc[-1] == 3000


def test_anonymous_and_non_admin_are_kept_out(client, portal, money):
    for path in ("/admin/finance", "/admin/finance.csv"):
        response = client.get(path)
        assert response.status_code == 302 and "/admin/login" in response.headers["Location"]
    portal.login(UserFactory(roles=["tutor"]).email)
    assert client.get("/admin/finance.csv").status_code == 302


def test_chart_helper_rewrites_inline_css_as_attributes():
    svg = chart_svg(["a", "b"], bars={"x": [1, 2]}, lines={"y": [2, 1]}, title="T & <t>", ylabel="USD")
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"') and "style=" not in svg
    assert "<title>T &amp; &lt;t&gt;</title>" in svg and 'width="100%"' in svg
    raw = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10pt" height="5pt">'
           b'<defs><style type="text/css">*{stroke-linejoin: round; stroke-linecap: butt}</style></defs>'
           b'<metadata>m</metadata><path style="fill: #ffffff; stroke-width: 0.8"/></svg>')
    assert csp_safe(raw) == ('<svg xmlns="http://www.w3.org/2000/svg" width="100%" stroke-linejoin="round" '
                             'stroke-linecap="butt" role="img"><defs /><path fill="#ffffff" stroke-width="0.8" />'
                             '</svg>')
