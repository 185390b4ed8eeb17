"""PUT /users/me/avatar: type sniffed from the bytes, at most 2 MB, served through a signed URL."""
import io

import pytest

from tests.conftest import assert_error
from tests.factories import UserFactory
from tests.users.images import JPEG_1X1, WEBP_1X1, png_bytes

URL = "/api/v1/users/me/avatar"


def _upload(client, headers, data, filename="avatar.png", content_type="image/png"):
    return client.put(URL, headers=headers, content_type="multipart/form-data",
                      data={"file": (io.BytesIO(data), filename, content_type)})


@pytest.mark.parametrize(("data", "mime"), [(png_bytes(4, 4), "image/png"), (JPEG_1X1, "image/jpeg"),
                                            (WEBP_1X1, "image/webp")])
def test_upload_avatar_and_download_it(client, auth, data, mime):
    headers = auth.headers(UserFactory())
    # The client's name and type are ignored: the bytes decide.
    response = _upload(client, headers, data, filename="me.bin", content_type="application/octet-stream")

    assert response.status_code == 200, response.get_json()
    avatar_url = response.get_json()["avatar_url"]
    assert avatar_url.startswith("/api/v1/files/")
    download = client.get(avatar_url)
    assert download.status_code == 200
    assert download.data == data
    assert download.mimetype == mime
    assert download.headers["X-Content-Type-Options"] == "nosniff"


def test_new_avatar_replaces_the_old_file(client, auth):
    headers = auth.headers(UserFactory())
    first = _upload(client, headers, png_bytes()).get_json()["avatar_url"]
    second = _upload(client, headers, WEBP_1X1).get_json()["avatar_url"]
    assert client.get(second).status_code == 200
    assert_error(client.get(first), 404)


def test_text_disguised_as_png_is_refused(client, auth):
    body = assert_error(_upload(client, auth.headers(UserFactory()), b"this is not a picture\n" * 10), 415)
    assert "image/png" in body["message"]


def test_gif_is_refused(client, auth):
    assert_error(_upload(client, auth.headers(UserFactory()), b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "a.gif"), 415)


def test_avatar_over_two_megabytes_is_refused(client, auth):
    data = png_bytes() + b"\x00" * (2 * 1024 * 1024)
    assert_error(_upload(client, auth.headers(UserFactory()), data), 413)


def test_missing_and_empty_file(client, auth):
    headers = auth.headers(UserFactory())
    body = assert_error(client.put(URL, headers=headers, content_type="multipart/form-data", data={}), 422)
    assert "file" in body["errors"]
    assert_error(_upload(client, headers, b""), 422)


def test_avatar_needs_login(client):
    assert_error(_upload(client, {}, png_bytes()), 401)
