"""The "Finance" portal page in headless Chromium: the inline SVG chart is drawn with its colours under the
portal's Content-Security-Policy (no inline style allowed). Same harness as test_browser.py (skips without a
browser unless CI=true)."""
from app.common.transactions import unit_of_work
from app.payments import services as payments
from tests.admin_portal.test_browser import _fresh, browser, live_server, page  # noqa: F401  (fixtures)
from tests.factories import UserFactory, fund_wallet

# The first bar of the chart (GMV), and what the browser computes for its fill: matplotlib's colour, not the
# default black a blocked inline style would leave.
GMV_BAR_STYLE = """
const bar = [...document.querySelectorAll('#chart-USD svg path')]
  .find(path => (path.getAttribute('fill') || '').toLowerCase() === '#0072b2');
const box = document.querySelector('#chart-USD svg').getBoundingClientRect();
return [bar ? getComputedStyle(bar).fill : null, Math.round(box.width), Math.round(box.height)];
"""


def test_admin_sees_the_finance_chart_in_colour(db, page):  # noqa: F811
    admin = UserFactory(roles=["admin"], full_name="Alex Admin")
    student, tutor = UserFactory(roles=["student"]), UserFactory(roles=["tutor"])
    fund_wallet(student, 10000)
    with unit_of_work():
        payments.hold_for_booking(1, student.id, tutor.id, 3000, "USD")
    email = admin.email
    _fresh(db)

    page.sign_in(email)
    page.wait_for("#count-pending_documents")
    page.find("nav a[href='/admin/finance']").click()
    page.wait_for("#chart-USD svg")
    assert page.path() == "/admin/finance"
    fill, width, height = page.driver.execute_script(GMV_BAR_STYLE)
    assert fill == "rgb(0, 114, 178)"
    assert width > 500 and height > 150
    assert "30.00 USD" in page.find("table.figures tfoot").text
