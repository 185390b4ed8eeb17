"""Portal pages: dashboard, verification queue (view, approve, reject), users search; HTML errors throughout."""
import os

import pytest
import sqlalchemy as sa

from app.notifications.models import OutboxMessage
from app.tutors import services as tutors
from app.tutors.models import TutorDocument
from tests.admin_portal.conftest import PDF_BYTES, PNG_BYTES, html, upload
from tests.factories import TutorDocumentFactory, TutorProfileFactory, UserFactory

PAGES = ["/admin/", "/admin/tutor-documents", "/admin/users", "/admin/no-such-page"]


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_visitors_are_sent_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login?next=")


@pytest.mark.parametrize("path", PAGES[:3])
def test_pages_answer_html_with_security_headers(client, signed_in, path):
    response = client.get(path)
    assert response.status_code == 200
    html(response)
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


def test_stylesheet_is_served_to_anyone(client):
    response = client.get("/admin/static/portal.css")
    assert response.status_code == 200
    assert response.mimetype == "text/css"


def test_unknown_portal_page_is_an_html_404_while_the_api_stays_json(client, signed_in):
    response = client.get("/admin/no-such-page")
    assert response.status_code == 404
    assert "404" in html(response)
    api = client.get("/api/v1/no-such-endpoint")
    assert api.status_code == 404 and api.get_json()["code"] == 404


def test_unexpected_error_is_an_html_500_without_details(client, signed_in, monkeypatch):
    def broken():
        raise RuntimeError("database exploded: secret detail")

    monkeypatch.setattr(tutors, "dashboard_counts", broken)
    response = client.get("/admin/")
    assert response.status_code == 500
    page = html(response)
    assert "Something went wrong" in page and "secret detail" not in page


def test_dashboard_shows_the_counts(client, signed_in, tutor):
    UserFactory.create_batch(2, roles=["student"])
    TutorProfileFactory(user=tutor, verified=True)
    upload(tutor, "id_card")
    page = html(client.get("/admin/"))
    counts = tutors.dashboard_counts()
    assert counts["pending_documents"] == 1 and counts["students"] == 2
    for name, value in counts.items():
        assert f'id="count-{name}"' in page
        block = page.split(f'id="count-{name}"', 1)[1].split("</div>", 1)[0]
        assert f"<dd>{value}</dd>" in block
    assert "Review 1 pending document " in page


# --- verification queue -------------------------------------------------------------------------

def test_queue_lists_pending_documents_with_working_links(client, signed_in, tutor):
    id_card = upload(tutor, "id_card", PNG_BYTES, "passport scan.png")
    certificate = upload(tutor, "certificate", PDF_BYTES, "teaching-cert.pdf")
    approved = upload(tutor, "cv")
    approved.status = "approved"
    from app.extensions import db
    db.session.commit()

    page = html(client.get("/admin/tutor-documents"))
    assert "Tess Tutor" in page and "tess@example.com" in page
    assert f'id="document-{id_card.id}"' in page and f'id="document-{certificate.id}"' in page
    assert f'id="document-{approved.id}"' not in page
    assert "passport_scan.png" in page and "teaching-cert.pdf" in page and "id card" in page
    assert id_card.created_at.strftime("%Y-%m-%d %H:%M UTC") in page

    row = page.split(f'id="document-{certificate.id}"', 1)[1].split("</tr>", 1)[0]
    link = row.split('href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    download = client.get(link)
    assert download.status_code == 200
    assert download.mimetype == "application/pdf" and download.data == PDF_BYTES
    assert 'name="reason"' in row and "required" in row


def test_queue_is_paginated_oldest_first_and_decisions_return_to_the_page(client, db, signed_in):
    documents = TutorDocumentFactory.create_batch(30)
    ids = [document.id for document in documents]
    first = html(client.get("/admin/tutor-documents"))
    assert "30 documents waiting" in first and "Page 1 of 2" in first
    assert _document_ids(first) == ids[:25]
    assert 'href="/admin/tutor-documents?page=2"' in first
    second = html(client.get("/admin/tutor-documents?page=2"))
    assert _document_ids(second) == ids[25:] and 'rel="prev"' in second
    assert _document_ids(html(client.get("/admin/tutor-documents?page=abc"))) == ids[:25]
    assert _document_ids(html(client.get("/admin/tutor-documents?page=9"))) == []

    token = second.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = client.post(f"/admin/tutor-documents/{ids[26]}/approve", data={"csrf_token": token, "page": "2"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/tutor-documents?page=2"
    assert db.session.get(TutorDocument, ids[26]).status == "approved"


def _document_ids(page):
    return [int(chunk.split('"', 1)[0]) for chunk in page.split('<tr id="document-')[1:]]


def test_empty_queue_says_so(client, signed_in):
    assert "No documents are waiting for review." in html(client.get("/admin/tutor-documents"))


def test_approve_decides_notifies_and_flashes(client, db, signed_in, admin, tutor):
    document = upload(tutor, "id_card")
    response = signed_in.submit("/admin/tutor-documents", f"/admin/tutor-documents/{document.id}/approve")
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/tutor-documents"
    db.session.refresh(document)
    assert document.status == "approved" and document.decided_by_id == admin.id
    mail = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.recipient == tutor.email)).all()
    assert [m.subject for m in mail] == ["Your ID document was approved"]
    page = html(client.get("/admin/tutor-documents"))
    assert "The id card of Tess Tutor (tess@example.com) was approved." in page
    assert f'id="document-{document.id}"' not in page


def test_approving_twice_flashes_the_conflict(client, db, signed_in, tutor):
    document = upload(tutor, "id_card")
    signed_in.submit("/admin/tutor-documents", f"/admin/tutor-documents/{document.id}/approve")
    response = signed_in.submit("/admin/tutor-documents", f"/admin/tutor-documents/{document.id}/reject",
                                reason="changed my mind")
    assert response.status_code == 303
    assert "This document was already approved." in html(client.get("/admin/tutor-documents"))
    db.session.refresh(document)
    assert document.status == "approved" and document.reason is None


def test_reject_requires_a_reason(client, db, signed_in, tutor):
    document = upload(tutor, "certificate")
    for reason in ("", "   "):
        response = signed_in.submit("/admin/tutor-documents", f"/admin/tutor-documents/{document.id}/reject",
                                    reason=reason)
        assert response.status_code == 303
        assert "A reason is required to reject a document." in html(client.get("/admin/tutor-documents"))
    too_long = "x" * 501
    signed_in.submit("/admin/tutor-documents", f"/admin/tutor-documents/{document.id}/reject", reason=too_long)
    assert "at most 500 characters" in html(client.get("/admin/tutor-documents"))
    db.session.refresh(document)
    assert document.status == "pending"


def test_reject_with_a_reason_records_it_and_emails_the_tutor(client, db, signed_in, admin, tutor):
    document = upload(tutor, "certificate")
    response = signed_in.submit("/admin/tutor-documents", f"/admin/tutor-documents/{document.id}/reject",
                                reason="  The scan is unreadable.  ")
    assert response.status_code == 303
    db.session.refresh(document)
    assert (document.status, document.reason, document.decided_by_id) == ("rejected", "The scan is unreadable.",
                                                                           admin.id)
    mail = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.recipient == tutor.email))
    assert "The scan is unreadable." in mail.body_text
    assert "was rejected." in html(client.get("/admin/tutor-documents"))


def test_deciding_a_missing_document_is_an_html_404(client, signed_in):
    response = signed_in.submit("/admin/tutor-documents", "/admin/tutor-documents/999999/approve")
    assert response.status_code == 404
    assert "No such document." in html(response)


def test_approving_id_and_certificate_verifies_the_tutor(client, db, signed_in, tutor):
    TutorProfileFactory(user=tutor)
    id_card = upload(tutor, "id_card")
    certificate = upload(tutor, "certificate", PDF_BYTES)
    signed_in.submit("/admin/tutor-documents", f"/admin/tutor-documents/{id_card.id}/approve")
    assert client.get(f"/api/v1/tutors/{tutor.id}").get_json()["verified"] is False
    signed_in.submit("/admin/tutor-documents", f"/admin/tutor-documents/{certificate.id}/approve")
    assert client.get(f"/api/v1/tutors/{tutor.id}").get_json()["verified"] is True
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TutorDocument)
                             .where(TutorDocument.status == "pending")) == 0


def test_document_files_stay_on_disk_after_decisions(app, signed_in, tutor):
    document = upload(tutor, "id_card")
    signed_in.submit("/admin/tutor-documents", f"/admin/tutor-documents/{document.id}/approve")
    assert os.path.exists(os.path.join(app.config["UPLOAD_DIR"], document.storage_key))


# --- users --------------------------------------------------------------------------------------

def _listed_ids(page):
    return [int(chunk.split('"', 1)[0]) for chunk in page.split('<tr id="user-')[1:]]


def test_users_list_shows_everyone_with_roles(client, signed_in, admin):
    student = UserFactory(roles=["student"], full_name="Ada Lovelace", email="ada@example.com")
    page = html(client.get("/admin/users"))
    assert _listed_ids(page) == [admin.id, student.id]
    assert "Ada Lovelace" in page and "ada@example.com" in page and "2 users" in page


def test_users_search_by_name_email_role_and_status(client, signed_in, admin):
    ada = UserFactory(roles=["student"], full_name="Ada Lovelace", email="ada@example.com")
    grace = UserFactory(roles=["tutor"], full_name="Grace Hopper", email="grace@navy.example")
    gone = UserFactory(roles=["tutor"], full_name="Gone Tutor", email="gone@example.com", is_active=False)
    assert _listed_ids(html(client.get("/admin/users?q=LOVELACE"))) == [ada.id]
    assert _listed_ids(html(client.get("/admin/users?q=navy.example"))) == [grace.id]
    assert _listed_ids(html(client.get("/admin/users?role=tutor"))) == [grace.id, gone.id]
    assert _listed_ids(html(client.get("/admin/users?role=tutor&status=active"))) == [grace.id]
    assert _listed_ids(html(client.get("/admin/users?status=inactive"))) == [gone.id]
    page = html(client.get("/admin/users?q=nobody-matches"))
    assert "No users match." in page and "0 users" in page
    # Unknown filter values are ignored rather than failing.
    assert len(_listed_ids(html(client.get("/admin/users?role=wizard&status=maybe")))) == 4


def test_users_pagination_keeps_the_filters(client, signed_in):
    UserFactory.create_batch(30, roles=["student"])
    first = html(client.get("/admin/users?role=student"))
    assert len(_listed_ids(first)) == 25 and "Page 1 of 2" in first
    assert 'href="/admin/users?page=2&amp;role=student"' in first
    second = html(client.get("/admin/users?role=student&page=2"))
    assert len(_listed_ids(second)) == 5 and "Page 2 of 2" in second
    assert set(_listed_ids(first)).isdisjoint(_listed_ids(second))
    assert _listed_ids(html(client.get("/admin/users?role=student&page=abc"))) == _listed_ids(first)
    assert _listed_ids(html(client.get("/admin/users?role=student&page=9"))) == []
