"""Credential documents: tutor upload/list/get/delete, admin review, verified flag, decision emails."""
import pytest
import sqlalchemy as sa

from app.common.errors import Conflict, Invalid, NotFound
from app.common.transactions import unit_of_work
from app.notifications.models import OutboxMessage
from app.tutors import services
from app.tutors.models import TutorProfile
from tests.conftest import assert_error
from tests.factories import TutorDocumentFactory, UserFactory
from tests.tutors.conftest import JPEG, PDF, PNG, upload, zip_bytes

DOCS = "/api/v1/tutors/me/documents"
ADMIN_DOCS = "/api/v1/admin/tutor-documents"


@pytest.mark.parametrize("data,content_type", [(PDF, "application/pdf"), (PNG, "image/png"), (JPEG, "image/jpeg")])
def test_upload_sniffs_type_and_is_pending(client, auth, tutor, data, content_type):
    response = upload(client, auth.headers(tutor), "certificate", data, "../../etc/My Cert (1).pdf")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "pending" and body["kind"] == "certificate"
    assert body["content_type"] == content_type and body["size_bytes"] == len(data)
    assert body["original_filename"] == "etc_My_Cert_1.pdf"
    assert body["download_url"].startswith("/api/v1/files/")
    assert client.get(body["download_url"]).data == data


def test_upload_zip_named_pdf_is_415(client, auth, tutor):
    assert_error(upload(client, auth.headers(tutor), data=zip_bytes(), filename="cv.pdf"), 415, "unsupported")


def test_upload_over_10_mb_is_413(client, auth, tutor):
    assert_error(upload(client, auth.headers(tutor), data=PDF + b"0" * (10 * 1024 * 1024)), 413)


def test_upload_bad_kind_and_missing_file_are_422(client, auth, tutor):
    body = assert_error(upload(client, auth.headers(tutor), kind="passport"), 422)
    assert "kind" in str(body["errors"])
    body = assert_error(upload(client, auth.headers(tutor), data=None), 422)
    assert "file" in str(body["errors"])


def test_upload_needs_auth_and_tutor_role(client, auth, student):
    assert_error(upload(client, {}), 401)
    assert_error(upload(client, auth.headers(student)), 403)


def test_list_and_get_only_own_documents(client, auth, tutor):
    mine = upload(client, auth.headers(tutor)).get_json()
    other = TutorDocumentFactory()
    listed = client.get(DOCS, headers=auth.headers(tutor))
    assert listed.status_code == 200
    assert [doc["id"] for doc in listed.get_json()] == [mine["id"]]
    got = client.get(f"{DOCS}/{mine['id']}", headers=auth.headers(tutor))
    assert got.status_code == 200 and got.get_json()["download_url"]
    assert_error(client.get(f"{DOCS}/{other.id}", headers=auth.headers(tutor)), 404)
    assert_error(client.get(f"{DOCS}/999999", headers=auth.headers(tutor)), 404)
    assert_error(client.get(DOCS), 401)
    assert_error(client.get(f"{DOCS}/{mine['id']}"), 401)


def test_delete_pending_only(client, auth, tutor):
    pending = upload(client, auth.headers(tutor)).get_json()
    decided = TutorDocumentFactory(tutor=tutor, status="approved")
    other = TutorDocumentFactory()
    assert_error(client.delete(f"{DOCS}/{decided.id}", headers=auth.headers(tutor)), 409)
    assert_error(client.delete(f"{DOCS}/{other.id}", headers=auth.headers(tutor)), 404)
    assert_error(client.delete(f"{DOCS}/{pending['id']}"), 401)
    assert client.delete(f"{DOCS}/{pending['id']}", headers=auth.headers(tutor)).status_code == 204
    assert_error(client.get(f"{DOCS}/{pending['id']}", headers=auth.headers(tutor)), 404)
    assert_error(client.get(pending["download_url"]), 404)


def test_admin_queue_lists_pending_oldest_first_paginated(client, auth, admin, tutor):
    first = TutorDocumentFactory(tutor=tutor)
    second = TutorDocumentFactory(kind="diploma")
    TutorDocumentFactory(status="approved")
    response = client.get(ADMIN_DOCS, headers=auth.headers(admin))
    assert response.status_code == 200
    body = response.get_json()
    assert [doc["id"] for doc in body] == [first.id, second.id]
    assert body[0]["tutor"]["full_name"] == "Tina Tutor" and body[0]["download_url"]
    assert '"total": 2' in response.headers["X-Pagination"]
    everything = client.get(f"{ADMIN_DOCS}?status=all&page_size=1", headers=auth.headers(admin))
    assert len(everything.get_json()) == 1 and '"total": 3' in everything.headers["X-Pagination"]
    approved = client.get(f"{ADMIN_DOCS}?status=approved", headers=auth.headers(admin)).get_json()
    assert len(approved) == 1 and approved[0]["status"] == "approved"


def test_admin_queue_bad_input_and_roles(client, auth, admin, tutor):
    assert_error(client.get(f"{ADMIN_DOCS}?status=lost", headers=auth.headers(admin)), 422)
    assert_error(client.get(f"{ADMIN_DOCS}?page_size=101", headers=auth.headers(admin)), 422)
    assert_error(client.get(ADMIN_DOCS, headers=auth.headers(tutor)), 403)
    assert_error(client.get(ADMIN_DOCS), 401)


def _decide(client, auth, admin, document_id, **body):
    return client.patch(f"{ADMIN_DOCS}/{document_id}", json=body, headers=auth.headers(admin))


def test_approvals_make_tutor_verified_and_email_them(client, auth, admin, tutor_with_profile, db):
    tutor = tutor_with_profile
    id_card = upload(client, auth.headers(tutor), "id_card").get_json()
    diploma = upload(client, auth.headers(tutor), "diploma", PNG, "diploma.png").get_json()
    response = _decide(client, auth, admin, id_card["id"], decision="approve")
    assert response.status_code == 200
    assert response.get_json()["status"] == "approved" and response.get_json()["decided_by_id"] == admin.id
    assert client.get(f"/api/v1/tutors/{tutor.id}").get_json()["verified"] is False
    assert _decide(client, auth, admin, diploma["id"], decision="approve").status_code == 200
    assert client.get(f"/api/v1/tutors/{tutor.id}").get_json()["verified"] is True
    emails = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [m.recipient for m in emails] == [tutor.email, tutor.email]
    assert emails[0].subject == "Your ID document was approved"
    assert "verified badge" in emails[1].body_text and "verified badge" not in emails[0].body_text


def test_reject_needs_reason_and_emails_it(client, auth, admin, tutor, db):
    document = upload(client, auth.headers(tutor), "certificate").get_json()
    body = assert_error(_decide(client, auth, admin, document["id"], decision="reject"), 422)
    assert "reason" in body["errors"]
    assert_error(_decide(client, auth, admin, document["id"], decision="reject", reason="   "), 422)
    response = _decide(client, auth, admin, document["id"], decision="reject", reason="Unreadable scan")
    assert response.status_code == 200
    assert response.get_json()["status"] == "rejected" and response.get_json()["reason"] == "Unreadable scan"
    mail = db.session.scalar(sa.select(OutboxMessage))
    assert mail.recipient == tutor.email and "Unreadable scan" in mail.body_text
    mine = client.get(f"{DOCS}/{document['id']}", headers=auth.headers(tutor)).get_json()
    assert mine["status"] == "rejected" and mine["reason"] == "Unreadable scan"


def test_decide_errors(client, auth, admin, tutor):
    decided = TutorDocumentFactory(status="approved")
    pending = TutorDocumentFactory()
    assert_error(_decide(client, auth, admin, decided.id, decision="approve"), 409)
    assert_error(_decide(client, auth, admin, 999999, decision="approve"), 404)
    assert_error(_decide(client, auth, admin, pending.id, decision="maybe"), 422)
    assert_error(_decide(client, auth, admin, pending.id, decision="approve", extra=1), 422)
    assert_error(_decide(client, auth, tutor, pending.id, decision="approve"), 403)
    assert_error(client.patch(f"{ADMIN_DOCS}/{pending.id}", json={"decision": "approve"}), 401)


def test_revoking_a_credential_by_rejection_keeps_unverified(app, admin, tutor_with_profile, db):
    tutor = tutor_with_profile
    id_card = TutorDocumentFactory(tutor=tutor, kind="id_card")
    cv = TutorDocumentFactory(tutor=tutor, kind="cv")
    with unit_of_work():
        services.approve_document(admin, id_card.id)
        services.approve_document(admin, cv.id)
    assert db.session.get(TutorProfile, tutor.id).verified is False  # a CV is not a credential
    certificate = TutorDocumentFactory(tutor=tutor, kind="certificate")
    with unit_of_work():
        services.reject_document(admin, certificate.id, "Expired")
    assert db.session.get(TutorProfile, tutor.id).verified is False


def test_portal_service_functions(app, admin, tutor, db):
    older = TutorDocumentFactory(tutor=tutor)
    newer = TutorDocumentFactory()
    queue = services.list_documents_for_review()
    assert [doc.id for doc in queue] == [older.id, newer.id]
    assert queue[0].tutor.full_name == "Tina Tutor"
    assert services.get_document(newer.id).id == newer.id
    with pytest.raises(NotFound):
        services.get_document(999999)
    with app.test_request_context():
        assert services.document_download_url(older).startswith("/api/v1/files/")
    with pytest.raises(Invalid), unit_of_work():
        services.reject_document(admin, older.id, "")
    with unit_of_work():
        services.approve_document(admin, older.id)
    with pytest.raises(Conflict), unit_of_work():
        services.reject_document(admin, older.id, "changed my mind")
    UserFactory(roles=["student"])
    counts = services.dashboard_counts()
    assert counts["pending_documents"] == 1
    assert counts["tutors"] == 2 and counts["students"] == 1 and counts["users"] == 4
    assert counts["verified_tutors"] == 0
