"""Portal sign-in: admins only, TOTP step with replay protection, session hygiene, rate limit."""
import time

import pyotp
import pytest

from admin_portal.session import SESSION_RECORD
from admin_portal.views import LOGIN_REFUSED
from app.extensions import redis_client
from tests.admin_portal.conftest import html
from tests.factories import DEFAULT_PASSWORD, RecoveryCodeFactory, UserFactory


def test_login_page_sets_a_hardened_session_cookie_with_a_csrf_token(client, portal):
    response = client.get("/admin/login")
    page = html(response)
    assert response.status_code == 200
    assert 'name="csrf_token"' in page and 'name="password"' in page
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_admin_signs_in_and_sees_the_dashboard(client, portal, admin):
    response = portal.login(admin.email)
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie
    page = html(client.get("/admin/"))
    assert "Dashboard" in page and admin.email in page and f"Signed in as {admin.email}" in page


def test_login_regenerates_the_session_and_csrf_token(client, portal, admin):
    before = portal.token_from("/admin/login")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    portal.login_as(admin)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["uid"] == admin.id
        first_sid = session["sid"]
        assert session["_csrf"] != before
    portal.submit("/admin/", "/admin/logout")
    portal.login_as(admin)
    with client.session_transaction() as session:
        assert session["sid"] != first_sid


def test_session_record_lives_for_the_portal_lifetime(app, client, portal, admin):
    portal.login_as(admin)
    with client.session_transaction() as session:
        sid = session["sid"]
    ttl = redis_client.client.ttl(SESSION_RECORD.format(sid=sid))
    lifetime = app.config["PORTAL_SESSION_LIFETIME"].total_seconds()
    assert lifetime - 5 <= ttl <= lifetime


def test_expired_session_record_sends_back_to_login(client, portal, admin):
    portal.login_as(admin)
    with client.session_transaction() as session:
        redis_client.client.delete(SESSION_RECORD.format(sid=session["sid"]))
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login")


@pytest.mark.parametrize("email,password", [
    ("student", "a perfectly fine passphrase"),  # right password, not an admin
    ("admin", "wrong password entirely"),
    ("nobody@example.com", "a perfectly fine passphrase"),
])
def test_refusals_share_one_generic_message_and_open_no_session(client, portal, admin, email, password):
    student = UserFactory(roles=["student", "tutor"])
    email = {"student": student.email, "admin": admin.email}.get(email, email)
    response = portal.login(email, password)
    page = html(response)
    assert response.status_code == 200
    assert LOGIN_REFUSED in page
    with client.session_transaction() as session:
        assert "uid" not in session and "sid" not in session
    assert client.get("/admin/").status_code == 302


def test_inactive_admin_is_refused(client, portal):
    admin = UserFactory(roles=["admin"], is_active=False)
    assert LOGIN_REFUSED in html(portal.login(admin.email))
    assert client.get("/admin/").status_code == 302


def test_anonymous_is_sent_to_login_and_back_after_signing_in(client, portal, admin):
    response = client.get("/admin/users?q=ada")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/login?next=/admin/users?q%3Dada"
    page = html(client.get(response.headers["Location"]))
    assert 'name="next" value="/admin/users?q=ada"' in page
    response = portal.login(admin.email, next="/admin/users?q=ada")
    assert response.headers["Location"] == "/admin/users?q=ada"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/admin/", "/admin/..//evil.example",
                                    "/api/v1/users/me", "/admin\\evil"])
def test_next_never_leaves_the_portal(portal, admin, target):
    response = portal.login(admin.email, next=target)
    assert response.headers["Location"] == "/admin/"


def test_signed_in_admin_visiting_login_goes_to_the_dashboard(client, signed_in):
    response = client.get("/admin/login")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"


def test_logout_ends_the_session_even_for_a_copied_cookie(client, portal, admin):
    portal.login_as(admin)
    copied = portal.session_cookie()
    response = portal.submit("/admin/", "/admin/logout")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/login"
    assert "Signed out." in html(client.get("/admin/login"))
    assert client.get("/admin/").status_code == 302
    client.set_cookie("session", copied)
    response = client.get("/admin/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/admin/login")


def test_logout_is_post_only(client, signed_in):
    assert client.get("/admin/logout").status_code == 404
    assert client.get("/admin/").status_code == 200


def test_demoted_admin_gets_the_403_page(client, db, signed_in, admin):
    admin.roles = ["student"]
    db.session.commit()
    response = client.get("/admin/")
    assert response.status_code == 403
    assert "does not have access to the admin portal" in html(response)
    response = client.get("/admin/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/admin/login")


def test_password_change_elsewhere_ends_portal_sessions(client, db, signed_in, admin):
    admin.token_version += 1
    db.session.commit()
    response = client.get("/admin/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/admin/login")


# --- MFA ----------------------------------------------------------------------------------------

@pytest.fixture
def mfa_admin(db):
    secret = pyotp.random_base32()
    return UserFactory(roles=["admin"], mfa_enabled=True, mfa_secret=secret)


def test_mfa_admin_needs_a_valid_code_before_the_session_opens(client, db, portal, mfa_admin):
    response = portal.login(mfa_admin.email)
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/login/mfa"
    assert client.get("/admin/").status_code == 302  # password alone opens nothing

    wrong = portal.submit("/admin/login/mfa", "/admin/login/mfa", code="000000")
    assert "Invalid or already used authentication code." in html(wrong)

    now = time.time()
    code = pyotp.TOTP(mfa_admin.mfa_secret).at(now)
    response = portal.submit("/admin/login/mfa", "/admin/login/mfa", code=code)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    db.session.rollback()  # committed by the request, not left pending in the shared session
    assert mfa_admin.mfa_last_step == int(now // 30)  # stored, so this code can never be used again
    assert mfa_admin.last_login_at is not None


def test_sign_in_is_recorded_and_committed(db, portal, admin):
    portal.login_as(admin)
    db.session.rollback()
    assert admin.last_login_at is not None


def test_mfa_code_cannot_be_replayed(client, portal, mfa_admin):
    code = pyotp.TOTP(mfa_admin.mfa_secret).now()
    portal.login(mfa_admin.email)
    assert portal.submit("/admin/login/mfa", "/admin/login/mfa", code=code).status_code == 302
    portal.submit("/admin/", "/admin/logout")

    portal.login(mfa_admin.email)
    replay = portal.submit("/admin/login/mfa", "/admin/login/mfa", code=code)
    assert replay.status_code == 200
    assert "Invalid or already used authentication code." in html(replay)
    assert client.get("/admin/").status_code == 302


def test_mfa_accepts_a_recovery_code_once(client, portal, mfa_admin):
    RecoveryCodeFactory(user_id=mfa_admin.id)
    portal.login(mfa_admin.email)
    assert portal.submit("/admin/login/mfa", "/admin/login/mfa", code="ABCDE-FGHJK").status_code == 302
    portal.submit("/admin/", "/admin/logout")
    portal.login(mfa_admin.email)
    assert portal.submit("/admin/login/mfa", "/admin/login/mfa", code="abcde-fghjk").status_code == 200


def test_mfa_step_keeps_the_next_path(portal, mfa_admin):
    response = portal.login(mfa_admin.email, next="/admin/users")
    assert response.headers["Location"] == "/admin/login/mfa?next=/admin/users"
    code = pyotp.TOTP(mfa_admin.mfa_secret).now()
    response = portal.submit("/admin/login/mfa", "/admin/login/mfa", code=code, next="/admin/users")
    assert response.headers["Location"] == "/admin/users"


def test_mfa_page_without_a_password_step_goes_back_to_login(client):
    response = client.get("/admin/login/mfa")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/login"


def test_mfa_step_expires(app, client, portal, mfa_admin):
    portal.login(mfa_admin.email)
    with client.session_transaction() as session:
        session["mfa_at"] -= int(app.config["MFA_TOKEN_EXPIRES"].total_seconds()) + 1
    code = pyotp.TOTP(mfa_admin.mfa_secret).now()
    token = portal.token_from("/admin/login")
    response = client.post("/admin/login/mfa", data={"code": code, "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/login"
    assert client.get("/admin/").status_code == 302


# --- rate limit ---------------------------------------------------------------------------------

def test_login_attempts_are_rate_limited_with_an_html_page(app, client, portal):
    limit = int(app.config["RATELIMIT_LOGIN"].split()[0])
    token = portal.token_from("/admin/login")
    for attempt in range(limit):
        response = client.post("/admin/login", data={"email": f"guess{attempt}@example.com", "password": "x",
                                                      "csrf_token": token})
        assert response.status_code == 200
    assert client.get("/admin/login").status_code == 200  # showing the form does not count
    response = client.post("/admin/login", data={"email": "guess@example.com", "password": "x", "csrf_token": token})
    assert response.status_code == 429
    assert "Too many attempts" in html(response)
    assert response.headers.get("Retry-After")


def test_failed_logins_from_many_addresses_do_not_lock_the_admin_out(app, client, portal, admin):
    """Failures lock one address out of one account; the admin signs in from another address."""
    token = portal.token_from("/admin/login")
    failures = app.config["LOGIN_LOCKOUT_FAILURES"]
    for attempt in range(failures * 3):
        client.post("/admin/login", data={"email": admin.email, "password": "x", "csrf_token": token},
                    environ_base={"REMOTE_ADDR": f"10.0.{attempt % 3}.1"})
    locked = client.post("/admin/login", data={"email": admin.email, "password": "x", "csrf_token": token},
                         environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert locked.status_code == 429
    assert "Too many" in html(locked) and locked.headers.get("Retry-After")
    response = client.post("/admin/login", data={"email": admin.email, "password": DEFAULT_PASSWORD,
                                                 "csrf_token": token}, environ_base={"REMOTE_ADDR": "10.0.9.9"})
    assert response.status_code == 302


def test_mfa_attempts_are_rate_limited(app, client, portal, mfa_admin):
    limit = int(app.config["RATELIMIT_MFA"].split()[0])
    portal.login(mfa_admin.email)
    token = portal.token_from("/admin/login/mfa")
    for _ in range(limit):
        assert client.post("/admin/login/mfa", data={"code": "000000", "csrf_token": token}).status_code == 200
    code = pyotp.TOTP(mfa_admin.mfa_secret).now()
    response = client.post("/admin/login/mfa", data={"code": code, "csrf_token": token})
    assert response.status_code == 429
    assert client.get("/admin/").status_code == 302


# --- cookie flags -------------------------------------------------------------------------------

def test_production_marks_the_session_cookie_secure(client, portal, monkeypatch):
    from config import Config, ProductionConfig

    assert ProductionConfig.SESSION_COOKIE_SECURE is True
    assert Config.SESSION_COOKIE_HTTPONLY is True and Config.SESSION_COOKIE_SAMESITE == "Lax"
    monkeypatch.setitem(client.application.config, "SESSION_COOKIE_SECURE", True)
    cookie = client.get("/admin/login").headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
