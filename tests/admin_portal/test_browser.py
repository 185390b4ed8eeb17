"""The portal in a real browser: headless Debian Chromium against the app served over HTTP on 127.0.0.1.

Skips when Chromium, chromedriver or selenium is missing, except with CI=true or TUTORHUB_REQUIRE_BROWSER=1,
where a missing browser is a failure.
"""
import json
import os
import shutil
import tempfile
import threading
import urllib.request

import pyotp
import pytest
from werkzeug.serving import make_server

from tests.admin_portal.conftest import PDF_BYTES, PNG_BYTES, upload
from tests.factories import DEFAULT_PASSWORD, TutorProfileFactory, UserFactory

CHROMEDRIVER = "/usr/bin/chromedriver"
REQUIRE_BROWSER = (os.environ.get("CI", "").lower() == "true"
                   or os.environ.get("TUTORHUB_REQUIRE_BROWSER") == "1")
CHROME_ARGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--no-first-run", "--window-size=1280,900")
WAIT_SECONDS = 15


def _browser_or_skip():
    """The chromium path, else skip (or fail where the browser is required)."""
    problems = []
    chromium = shutil.which("chromium")
    if chromium is None:
        problems.append("chromium is not installed (apt-get install chromium)")
    if not os.access(CHROMEDRIVER, os.X_OK):
        problems.append(f"{CHROMEDRIVER} is missing (apt-get install chromium-driver)")
    try:
        import selenium  # noqa: F401
    except ImportError:
        problems.append("selenium is not installed (pip install -r requirements.txt)")
    if problems:
        message = "; ".join(problems)
        if REQUIRE_BROWSER:
            pytest.fail(f"the browser test is required here (CI=true or TUTORHUB_REQUIRE_BROWSER=1): {message}")
        pytest.skip(message)
    return chromium


@pytest.fixture(scope="module")
def live_server(app):
    """The app behind a real threaded HTTP server on a free local port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="portal-live-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    chromium = _browser_or_skip()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile_dir = tempfile.mkdtemp(prefix="tutorhub-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in CHROME_ARGS:
        options.add_argument(argument)
    options.add_argument(f"--user-data-dir={profile_dir}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile_dir, ignore_errors=True)


@pytest.fixture
def page(browser, live_server):
    """The browser with no cookies left from another test, and helpers bound to the live server."""
    browser.delete_all_cookies()
    return Page(browser, live_server)


class Page:
    def __init__(self, driver, base_url):
        self.driver, self.base_url = driver, base_url

    def open(self, path):
        self.driver.get(self.base_url + path)

    def wait_for(self, css):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.driver, WAIT_SECONDS).until(
            expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css)))

    def wait_for_text(self, text):
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(self.driver, WAIT_SECONDS).until(lambda driver: text in driver.page_source)

    def find(self, css):
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css):
        from selenium.webdriver.common.by import By

        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def path(self):
        return self.driver.current_url[len(self.base_url):]

    def sign_in(self, email, password=DEFAULT_PASSWORD):
        self.open("/admin/")
        self.wait_for("form input[name=email]")
        assert self.path().startswith("/admin/login")
        self.find("#email").send_keys(email)
        self.find("#password").send_keys(password)
        self.find("#sign-in").click()

    def fetch(self, path):
        with urllib.request.urlopen(self.base_url + path, timeout=10) as response:
            return response.status, response.headers.get_content_type(), response.read()


def _fresh(db):
    """End the test thread's transaction so it sees what the server threads committed."""
    db.session.rollback()


def test_admin_approves_a_tutor_in_chromium_and_the_tutor_becomes_verified(db, page):
    admin = UserFactory(roles=["admin"], full_name="Alex Admin")
    tutor = UserFactory(roles=["tutor"], full_name="Tess Tutor", email="tess@example.com")
    TutorProfileFactory(user=tutor)
    id_card = upload(tutor, "id_card", PNG_BYTES, "passport.png")
    certificate = upload(tutor, "certificate", PDF_BYTES, "teaching-certificate.pdf")
    other = upload(UserFactory(roles=["tutor"], full_name="Otto Other"), "cv", PDF_BYTES)
    id_card_id, certificate_id, other_id, tutor_id = id_card.id, certificate.id, other.id, tutor.id
    _fresh(db)
    status, _type, body = page.fetch(f"/api/v1/tutors/{tutor_id}")
    assert status == 200 and json.loads(body)["verified"] is False

    page.sign_in(admin.email)
    page.wait_for("#count-pending_documents")
    assert page.path() == "/admin/"
    assert page.find("#count-pending_documents dd").text == "3"

    page.find("nav a[href='/admin/tutor-documents']").click()
    page.wait_for(f"#document-{id_card_id}")
    row = page.find(f"#document-{id_card_id}")
    assert "Tess Tutor" in row.text and "tess@example.com" in row.text and "id card" in row.text
    view_link = row.find_element("css selector", "a[target=_blank]").get_attribute("href")
    status, content_type, body = page.fetch(view_link[len(page.base_url):])
    assert (status, content_type, body) == (200, "image/png", PNG_BYTES)

    for document_id in (id_card_id, certificate_id):
        page.find(f"#document-{document_id} button.approve").click()
        page.wait_for_text("was approved.")
        assert page.path() == "/admin/tutor-documents"
        assert not page.find_all(f"#document-{document_id}")
        page.driver.refresh()  # the flash is gone after a reload, so the next wait sees the next one
        page.wait_for(f"#document-{other_id}")
    assert page.find_all(f"#document-{other_id}")

    status, _type, body = page.fetch(f"/api/v1/tutors/{tutor_id}")
    assert status == 200 and json.loads(body)["verified"] is True
    _fresh(db)
    from app.tutors import services as tutors
    assert tutors.is_verified(tutor_id)

    page.find("form.logout button").click()
    page.wait_for_text("Signed out.")
    page.open("/admin/tutor-documents")
    page.wait_for("form input[name=email]")
    assert page.path().startswith("/admin/login")


def test_admin_with_mfa_signs_in_with_a_totp_code_and_rejects_with_a_reason(db, page):
    secret = pyotp.random_base32()
    admin = UserFactory(roles=["admin"], mfa_enabled=True, mfa_secret=secret)
    tutor = UserFactory(roles=["tutor"], full_name="Rae Rejected")
    document_id = upload(tutor, "diploma", PDF_BYTES).id
    email = admin.email
    _fresh(db)

    page.sign_in(email)
    page.wait_for("#code")
    assert page.path().startswith("/admin/login/mfa")
    page.find("#code").send_keys(pyotp.TOTP(secret).now())
    page.find("#verify").click()
    page.wait_for("#count-pending_documents")

    page.open("/admin/tutor-documents")
    page.wait_for(f"#document-{document_id}")
    page.find(f"#reason-{document_id}").send_keys("The diploma scan is cut off.")
    page.find(f"#document-{document_id} button.danger").click()
    page.wait_for_text("was rejected.")
    _fresh(db)
    from app.tutors.models import TutorDocument
    document = db.session.get(TutorDocument, document_id)
    assert (document.status, document.reason) == ("rejected", "The diploma scan is cut off.")
