"""The portal's analytics page: charts, totals, filters, downloads equal to the API's rows; links into Users."""
import io

import pandas as pd

from tests.admin_portal.analytics_data import recent_activity
from tests.factories import TutorDocumentFactory, UserFactory


def test_analytics_page_shows_every_report(signed_in):
    recent_activity()
    page = signed_in.client.get("/admin/analytics")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    for name in ("engagement", "matching", "marketplace", "quality"):
        assert f'id="chart-{name}"' in html and f"/admin/analytics/{name}.csv?" in html
        assert f"/admin/analytics/{name}.xlsx?" in html
    assert html.count("<svg") == 4
    assert '<td class="amount" data-column="requested">4</td>' in html
    assert '<td class="amount" data-column="shown">5</td>' in html
    assert '<td class="amount" data-column="match_requested">2</td>' in html
    assert "Match funnel per week" in html
    assert '<option value="physics"' in html


def test_analytics_page_shows_the_funnel_per_arm(signed_in):
    """A calculus response served by the fixed arm (3 tutors shown), a physics one by the learned arm (2 shown),
    each booked and completed; the table links to the Matching page, where the A/B switch is."""
    recent_activity()
    html = signed_in.client.get("/admin/analytics").get_data(as_text=True)
    table = html[html.index('id="matching-arms"'):]
    table = table[:table.index("</table>")]
    fixed, learned = table[table.index('id="arm-row-fixed"'):], table[table.index('id="arm-row-learned"'):]
    for row, shown, rate in ((fixed, 3, 0.3333), (learned, 2, 0.5)):
        row = row[:row.index("</tr>")]
        assert f'data-column="shown">{shown}</td>' in row
        assert 'data-column="match_requested">1</td>' in row and 'data-column="match_completed">1</td>' in row
        assert f'data-column="shown_to_requested_rate">{rate}</td>' in row
        assert 'data-column="match_requested_to_completed_rate">1.0</td>' in row
    assert 'href="/admin/matching"' in html[html.index('id="report-matching"'):]
    physics = signed_in.client.get("/admin/analytics?subject=physics").get_data(as_text=True)
    physics = physics[physics.index('id="arm-row-fixed"'):]
    assert 'data-column="shown">0</td>' in physics[:physics.index("</tr>")]


def test_subject_filter_and_grouping(signed_in):
    recent_activity()
    html = signed_in.client.get("/admin/analytics?subject=physics&group=day").get_data(as_text=True)
    assert '<td class="amount" data-column="requested">1</td>' in html
    assert '<option value="day" selected>' in html


def test_bad_dates_fall_back_with_a_message(signed_in):
    html = signed_in.client.get("/admin/analytics?from=yesterday").get_data(as_text=True)
    assert "Dates are YYYY-MM-DD" in html
    html = signed_in.client.get("/admin/analytics?from=2020-01-01&to=2026-01-01").get_data(as_text=True)
    assert "at most 366 days" in html


def test_downloads_read_back_with_the_page_totals(signed_in):
    recent_activity()
    csv = signed_in.client.get("/admin/analytics/matching.csv?group=day")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    assert pd.read_csv(io.StringIO(csv.get_data(as_text=True)))["requested"].sum() == 4
    xlsx = signed_in.client.get("/admin/analytics/quality.xlsx")
    assert xlsx.status_code == 200
    assert pd.read_excel(io.BytesIO(xlsx.data), sheet_name="periods")["reviews"].sum() == 2


def test_unknown_download_is_404(signed_in):
    assert signed_in.client.get("/admin/analytics/revenue.csv").status_code == 404
    assert signed_in.client.get("/admin/analytics/quality.pdf").status_code == 404


def test_non_admins_never_see_it(portal, client):
    assert client.get("/admin/analytics").status_code == 302
    student = UserFactory(roles=["student"])
    portal.login(student.email)
    response = client.get("/admin/analytics/quality.csv")
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def test_users_page_shows_active_days(signed_in):
    data = recent_activity()
    student = data["students"][0]
    html = signed_in.client.get(f"/admin/users?q={student.email}").get_data(as_text=True)
    assert "Active days (30)" in html
    assert '<td class="amount" data-active-days>3</td>' in html


def test_verification_queue_links_into_users(signed_in):
    tutor = UserFactory(roles=["tutor"], email="queued.tutor@example.com")
    TutorDocumentFactory(tutor=tutor, kind="id_card", status="pending")
    html = signed_in.client.get("/admin/tutor-documents").get_data(as_text=True)
    assert 'href="/admin/users?q=queued.tutor@example.com"' in html
