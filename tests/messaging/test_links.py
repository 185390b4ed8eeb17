"""Drive / Dropbox link previews: pattern only, exact hosts, nothing fetched."""
import pytest

from app.messaging.links import link_previews
from tests.messaging.conftest import send


@pytest.mark.parametrize("url, kind, file_id", [
    ("https://drive.google.com/file/d/1AbCdEfGhIjKlMnOp/view?usp=sharing", "google_drive", "1AbCdEfGhIjKlMnOp"),
    ("https://drive.google.com/open?id=1AbCdEfGhIjKlMnOp", "google_drive", "1AbCdEfGhIjKlMnOp"),
    ("https://docs.google.com/document/d/1AbCdEfGhIjKlMnOpQr/edit", "google_drive", "1AbCdEfGhIjKlMnOpQr"),
    ("https://drive.google.com/drive/folders/0BxFolderId12345", "google_drive", "0BxFolderId12345"),
    ("https://www.dropbox.com/s/abc123def456/notes.pdf?dl=0", "dropbox", "abc123def456"),
    ("https://www.dropbox.com/scl/fi/k2j3h4g5f6d7/report.docx?rlkey=xyz&dl=0", "dropbox", "k2j3h4g5f6d7"),
])
def test_recognised_links(url, kind, file_id):
    assert link_previews(f"Here you go: {url}.") == [{"type": kind, "url": url, "file_id": file_id}]


@pytest.mark.parametrize("text", [
    "http://drive.google.com/file/d/1AbCdEfGhIjKlMnOp/view",  # not https
    "https://drive.google.com.evil.test/file/d/1AbCdEfGhIjKlMnOp/view",  # look-alike host
    "https://user@drive.google.com/file/d/1AbCdEfGhIjKlMnOp/view",  # userinfo
    "https://drive.google.com:8443/file/d/1AbCdEfGhIjKlMnOp/view",  # port
    "https://example.com/file/d/1AbCdEfGhIjKlMnOp/view",
    "https://www.dropbox.com/home/private",
    "https://169.254.169.254/latest/meta-data/",
    "no links at all",
])
def test_other_links_are_ignored(text):
    assert link_previews(text) == []


def test_messages_carry_previews(pair, student):
    message, _ = send(
        student.id, pair.id, "slides https://docs.google.com/presentation/d/1SlidesDeckId99/edit and "
                             "https://www.dropbox.com/s/abcdefgh12/x.pdf")
    assert [p["type"] for p in message["link_previews"]] == ["google_drive", "dropbox"]


def test_previews_never_fetch(pair, student, monkeypatch):
    import http.client
    import urllib.request

    import requests

    def refuse(*_args, **_kwargs):
        raise AssertionError("an HTTP request was attempted")

    monkeypatch.setattr(requests.Session, "request", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(http.client.HTTPConnection, "connect", refuse)
    message, _ = send(student.id, pair.id, "https://drive.google.com/file/d/1AbCdEfGhIjKlMnOp/view")
    assert message["link_previews"][0]["file_id"] == "1AbCdEfGhIjKlMnOp"
