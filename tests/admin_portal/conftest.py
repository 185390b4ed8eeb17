"""Portal helpers: sign in through the real login form, post forms with the session's CSRF token."""
import io
import re

import pytest
from werkzeug.datastructures import FileStorage

from tests.factories import DEFAULT_PASSWORD, UserFactory

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
PDF_BYTES = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


class Portal:
    """Drives the portal like a browser: forms carry the token the page rendered."""

    def __init__(self, client):
        self.client = client

    def token_from(self, path):
        response = self.client.get(path)
        match = CSRF_FIELD.search(response.get_data(as_text=True))
        assert match, f"no CSRF field on {path}"
        return match.group(1)

    def login(self, email, password=DEFAULT_PASSWORD, **extra):
        token = self.token_from("/admin/login")
        return self.client.post("/admin/login", data={"email": email, "password": password,
                                                      "csrf_token": token, **extra})

    def login_as(self, user):
        response = self.login(user.email)
        assert response.status_code == 302, response.get_data(as_text=True)
        assert response.headers["Location"] == "/admin/"
        return response

    def submit(self, page, action, **fields):
        """POST ``fields`` to ``action`` with the token found on ``page``, like submitting a rendered form."""
        return self.client.post(action, data={"csrf_token": self.token_from(page), **fields})

    def session_cookie(self):
        cookie = self.client.get_cookie("session")
        return cookie.value if cookie else None


@pytest.fixture
def portal(client):
    return Portal(client)


@pytest.fixture
def admin(db):
    return UserFactory(roles=["admin"], full_name="Alex Admin")


@pytest.fixture
def signed_in(portal, admin):
    portal.login_as(admin)
    return portal


def upload(tutor, kind, data=PNG_BYTES, filename=None):
    from app.common.transactions import unit_of_work
    from app.tutors import services as tutors

    name = filename or f"{kind}.{'pdf' if data.startswith(b'%PDF') else 'png'}"
    with unit_of_work():
        return tutors.upload_document(tutor, kind, FileStorage(stream=io.BytesIO(data), filename=name))


@pytest.fixture
def tutor(db):
    return UserFactory(roles=["tutor"], full_name="Tess Tutor", email="tess@example.com")


def html(response):
    assert response.mimetype == "text/html", response.headers
    return response.get_data(as_text=True)
