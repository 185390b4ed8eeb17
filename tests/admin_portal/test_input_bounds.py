"""The portal's forms and query strings: a NUL byte or a huge page never reaches the database (issue 13, 4-5)."""
import pytest


@pytest.mark.parametrize("email", ["a\x00@example.com", "\x00"])
def test_nul_in_the_login_form_is_refused_not_a_500(portal, email):
    response = portal.login(email)
    assert response.status_code == 422, response.get_data(as_text=True)


def test_nul_in_a_query_string_is_refused(signed_in, client):
    response = client.get("/admin/users", query_string={"q": "ada\x00"})
    assert response.status_code == 422


@pytest.mark.parametrize("path", ["/admin/users", "/admin/tutor-documents", "/admin/reviews"])
def test_huge_page_is_not_a_500(signed_in, client, path):
    response = client.get(path, query_string={"page": str(2**62)})
    assert response.status_code < 500, response.get_data(as_text=True)
