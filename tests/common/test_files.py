"""Signed, expiring download URLs (GET /files/{token}) and the storage helpers behind them."""
import io

import pytest
from werkzeug.datastructures import FileStorage

from app.common import storage
from app.common.errors import Invalid, NotFound, PayloadTooLarge, UnsupportedMediaType
from tests.conftest import assert_error
from tests.users.images import png_bytes


def test_download_through_signed_url(client, app):
    with app.test_request_context():
        stored = storage.save_bytes(png_bytes(), "image/png", prefix="doc")
        url = storage.signed_url(stored.key, stored.content_type)
    assert stored.key.startswith("doc-") and stored.key.endswith(".png")
    response = client.get(url)
    assert response.status_code == 200 and response.data == png_bytes()


def test_forged_and_expired_tokens_are_not_found(client, app, monkeypatch):
    with app.test_request_context():
        stored = storage.save_bytes(png_bytes(), "image/png")
        url = storage.signed_url(stored.key, stored.content_type)
    assert_error(client.get(url[:-3] + "xyz"), 404)
    assert_error(client.get("/api/v1/files/garbage"), 404)
    monkeypatch.setitem(app.config, "UPLOAD_URL_MAX_AGE", 1)
    monkeypatch.setattr("itsdangerous.timed.TimestampSigner.get_timestamp",
                        lambda self: int(__import__("time").time()) + 60)
    assert_error(client.get(url), 404, "expired")


def test_deleted_file_is_not_found(client, app):
    with app.test_request_context():
        stored = storage.save_bytes(png_bytes(), "image/png")
        url = storage.signed_url(stored.key, stored.content_type)
        storage.delete(stored.key)
        storage.delete(stored.key)  # deleting twice is fine
    assert_error(client.get(url), 404)


def test_paths_never_escape_the_upload_dir(app):
    with app.test_request_context():
        for key in ("../config.py", "a/b.png", ".hidden", "..\\x"):
            with pytest.raises(NotFound):
                storage.open_path(key)


def test_read_upload_rules(app):
    def upload(data):
        return FileStorage(stream=io.BytesIO(data), filename="x.png")

    with app.test_request_context():
        data, content_type = storage.read_upload(upload(png_bytes()), 1024, {"image/png"})
        assert content_type == "image/png" and data == png_bytes()
        with pytest.raises(Invalid):
            storage.read_upload(None, 1024, {"image/png"})
        with pytest.raises(PayloadTooLarge):
            storage.read_upload(upload(png_bytes() + b"\0" * 2048), 1024, {"image/png"})
        with pytest.raises(UnsupportedMediaType):
            storage.read_upload(upload(b"%PDF-1.4 fake"), 1024, {"image/png"})
