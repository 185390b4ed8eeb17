"""Attachments: sniffed types, size limit, ownership when sending, signed downloads for participants only."""
import io
import zipfile

import pytest

from app.messaging.attachments import DOCX, PPTX, XLSX, sniff
from tests.conftest import assert_error

URL = "/api/v1/attachments"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde" + b"\x00" * 32
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
MAIN = {
    "docx": ("word/document.xml", "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"),
    "xlsx": ("xl/workbook.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"),
    "pptx": ("ppt/presentation.xml",
             "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"),
}


def office(kind, content_types=True, macro=False):
    part, main_type = MAIN[kind]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if content_types:
            archive.writestr("[Content_Types].xml",
                             f'<?xml version="1.0"?><Types><Override PartName="/{part}" ContentType="{main_type}"/></Types>')
        archive.writestr(part, "<doc/>")
        if macro:
            archive.writestr("word/vbaProject.bin", b"\x00macro")
    return buffer.getvalue()


def upload(client, headers, data, name="file.bin"):
    return client.post(URL, data={"file": (io.BytesIO(data), name)}, headers=headers,
                       content_type="multipart/form-data")


@pytest.mark.parametrize("data, expected", [
    (PNG, "image/png"), (PDF, "application/pdf"), (office("docx"), DOCX), (office("xlsx"), XLSX),
    (office("pptx"), PPTX), ("Notes: ünïcode ok\n".encode(), "text/plain"),
])
def test_upload_accepts_documents_and_images(client, auth, student, data, expected):
    response = upload(client, auth.headers(student), data, "whatever.name")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["content_type"] == expected and body["size"] == len(data)
    assert body["filename"] == "whatever.name"
    download = client.get(body["url"])
    assert download.status_code == 200 and download.data == data


@pytest.mark.parametrize("data", [
    b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64,  # Windows executable
    b"\x7fELF\x02\x01\x01" + b"\x00" * 64,  # ELF
    b"#!/bin/sh\nrm -rf /\n",  # script
    office("docx", content_types=False),  # zip without [Content_Types].xml
    office("docx", macro=True),  # macro-enabled
    b"PK\x03\x04 not really a zip",
    b"\x00\x01\x02binary garbage\xff\xfe",
])
def test_upload_refuses_executables_and_unknown_types(client, auth, student, data):
    assert_error(upload(client, auth.headers(student), data), 415)


def test_zip_with_content_types_but_no_main_part_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("evil.exe", b"MZ")
    assert sniff(buffer.getvalue()) is None


def test_upload_size_limit(client, app, auth, student, monkeypatch):
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_BYTES", 64)
    assert_error(upload(client, auth.headers(student), b"a" * 65), 413)
    assert upload(client, auth.headers(student), b"a" * 64).status_code == 201


def test_upload_bad_input_and_auth(client, auth, student):
    assert_error(client.post(URL, data={}, headers=auth.headers(student), content_type="multipart/form-data"), 422)
    assert_error(upload(client, auth.headers(student), b""), 422)
    assert_error(upload(client, {}, PNG), 401)


def test_message_with_attachment_is_downloadable_by_participants_only(client, auth, pair, student, tutor, outsider):
    attachment = upload(client, auth.headers(student), PDF, "syllabus.pdf").get_json()
    sent = client.post(f"/api/v1/conversations/{pair.id}/messages", json={"attachment_ids": [attachment["id"]]},
                       headers=auth.headers(student))
    assert sent.status_code == 201
    files = sent.get_json()["attachments"]
    assert [(f["id"], f["filename"]) for f in files] == [(attachment["id"], "syllabus.pdf")]
    history = client.get(f"/api/v1/conversations/{pair.id}/messages", headers=auth.headers(tutor)).get_json()
    assert client.get(history["messages"][0]["attachments"][0]["url"]).data == PDF
    assert client.get(f"{URL}/{attachment['id']}", headers=auth.headers(tutor)).status_code == 200
    assert_error(client.get(f"{URL}/{attachment['id']}", headers=auth.headers(outsider)), 404)
    assert_error(client.get(f"{URL}/{attachment['id']}"), 401)


def test_unsent_attachment_is_private_to_uploader(client, auth, student, tutor):
    attachment = upload(client, auth.headers(student), PNG).get_json()
    assert client.get(f"{URL}/{attachment['id']}", headers=auth.headers(student)).status_code == 200
    assert_error(client.get(f"{URL}/{attachment['id']}", headers=auth.headers(tutor)), 404)


def test_another_users_or_used_attachment_is_404(client, auth, pair, student, tutor):
    theirs = upload(client, auth.headers(tutor), PNG).get_json()
    url = f"/api/v1/conversations/{pair.id}/messages"
    assert_error(client.post(url, json={"body": "x", "attachment_ids": [theirs["id"]]},
                             headers=auth.headers(student)), 404)
    mine = upload(client, auth.headers(student), PNG).get_json()
    assert client.post(url, json={"attachment_ids": [mine["id"]]}, headers=auth.headers(student)).status_code == 201
    assert_error(client.post(url, json={"attachment_ids": [mine["id"]]}, headers=auth.headers(student)), 404)
    assert_error(client.post(url, json={"attachment_ids": [999999]}, headers=auth.headers(student)), 404)


def test_signed_url_expires(client, app, auth, student, monkeypatch):
    body = upload(client, auth.headers(student), PNG).get_json()
    monkeypatch.setitem(app.config, "UPLOAD_URL_MAX_AGE", -1)
    assert_error(client.get(body["url"]), 404)


def test_socket_send_with_attachments_is_all_or_nothing(connect, client, auth, db, pair, student, tutor):
    """A socket send with attachments writes in the unit of work's transaction: a bad id leaves no message."""
    import sqlalchemy as sa

    from app.messaging.models import Message
    from app.notifications.models import Notification

    alice, bob = connect(student), connect(tutor)
    theirs = upload(client, auth.headers(tutor), PNG).get_json()
    refused = alice.call("message:send", {"conversation_id": pair.id, "body": "see this", "client_id": "att-1",
                                          "attachment_ids": [theirs["id"]]})
    assert refused["ok"] is False and refused["error"]["code"] == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Message)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 0

    mine = upload(client, auth.headers(student), PDF, "notes.pdf").get_json()
    ack = alice.call("message:send", {"conversation_id": pair.id, "body": "", "client_id": "att-1",
                                      "attachment_ids": [mine["id"]]})
    assert ack["ok"] is True and [f["filename"] for f in ack["message"]["attachments"]] == ["notes.pdf"]
    assert bob.wait_for("message:new") == ack["message"]
    assert bob.wait_for("notification:new")["body"] == "1 attachment(s)"
