"""The "Analytics" portal page in headless Chromium: four inline SVG charts drawn under the portal's CSP, and a
screenshot of the page. Same harness as test_browser.py (skips without a browser unless CI=true)."""
from tests.admin_portal.analytics_data import recent_activity
from tests.admin_portal.test_browser import _fresh, browser, live_server, page  # noqa: F401  (fixtures)
from tests.factories import UserFactory

CHART_SIZES = """
return [...document.querySelectorAll('figure.chart svg')].map(svg => {
  const box = svg.getBoundingClientRect();
  return [svg.closest('figure').id, Math.round(box.width), Math.round(box.height)];
});
"""


def test_admin_opens_the_analytics_page(db, page, tmp_path):  # noqa: F811
    admin = UserFactory(roles=["admin"], full_name="Alex Admin")
    recent_activity()
    email = admin.email
    _fresh(db)

    page.sign_in(email)
    page.wait_for("#count-pending_documents")
    page.find("nav a[href='/admin/analytics']").click()
    page.wait_for("#chart-quality svg")
    assert page.path() == "/admin/analytics"
    sizes = page.driver.execute_script(CHART_SIZES)
    assert [name for name, _w, _h in sizes] == ["chart-engagement", "chart-matching", "chart-marketplace",
                                                "chart-quality"]
    assert all(width > 500 and height > 150 for _name, width, height in sizes)
    assert page.find("#report-matching [data-column=requested]").text == "4"
    shot = tmp_path / "analytics.png"
    assert page.driver.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
