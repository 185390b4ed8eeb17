"""Every portal form carries the session's CSRF token; a POST without it or with another one is a 400 page."""
import pytest

from tests.admin_portal.conftest import CSRF_FIELD, Portal, html, upload
from tests.factories import DEFAULT_PASSWORD


def _assert_csrf_refused(response):
    assert response.status_code == 400
    page = html(response)
    assert "400" in page and "not sent from this site" in page


@pytest.mark.parametrize("token", [None, "", "forged-token-value"])
def test_login_post_needs_the_session_token(client, portal, admin, token):
    portal.token_from("/admin/login")
    data = {"email": admin.email, "password": DEFAULT_PASSWORD}
    if token is not None:
        data["csrf_token"] = token
    _assert_csrf_refused(client.post("/admin/login", data=data))
    assert client.get("/admin/").status_code == 302


def test_post_before_any_session_is_refused(client, admin):
    response = client.post("/admin/login", data={"email": admin.email, "password": DEFAULT_PASSWORD,
                                                 "csrf_token": "anything"})
    _assert_csrf_refused(response)


def test_token_of_another_session_is_refused(app, client, portal, admin):
    other = Portal(app.test_client())
    foreign_token = other.token_from("/admin/login")
    portal.token_from("/admin/login")
    response = client.post("/admin/login", data={"email": admin.email, "password": DEFAULT_PASSWORD,
                                                 "csrf_token": foreign_token})
    _assert_csrf_refused(response)


def test_decisions_need_the_token(client, db, signed_in, tutor):
    document = upload(tutor, "id_card")
    _assert_csrf_refused(client.post(f"/admin/tutor-documents/{document.id}/approve"))
    _assert_csrf_refused(client.post(f"/admin/tutor-documents/{document.id}/approve", data={"csrf_token": "nope"}))
    _assert_csrf_refused(client.post(f"/admin/tutor-documents/{document.id}/reject",
                                     data={"reason": "blurry", "csrf_token": "nope"}))
    db.session.refresh(document)
    assert document.status == "pending"


def test_logout_needs_the_token(client, signed_in):
    _assert_csrf_refused(client.post("/admin/logout", data={"csrf_token": "wrong"}))
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize("path", ["/admin/login", "/admin/", "/admin/tutor-documents", "/admin/users"])
def test_every_form_on_every_page_carries_the_token(client, portal, admin, tutor, path):
    upload(tutor, "id_card")
    if path != "/admin/login":
        portal.login_as(admin)
    with client.session_transaction() as session:
        expected = session.get("_csrf")
    page = html(client.get(path))
    posting_forms = page.count('method="post"')
    assert posting_forms >= 1
    tokens = CSRF_FIELD.findall(page)
    assert len(tokens) == posting_forms
    assert set(tokens) == {expected or tokens[0]}


def test_the_json_api_is_not_subject_to_the_portal_csrf(client, admin):
    response = client.post("/api/v1/auth/login", json={"email": admin.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 200
    assert "access_token" in response.get_json()
