"""Uploaded files: sniffed type, bounded size, random names, signed expiring download URLs."""
import os
import secrets
from dataclasses import dataclass

import filetype
from flask import current_app, has_request_context, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app.common.errors import Invalid, NotFound, PayloadTooLarge, UnsupportedMediaType

MIME_EXTENSIONS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/webp": "webp",
    "image/gif": "gif",
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
    "text/plain": "txt",
}


@dataclass(frozen=True)
class StoredFile:
    key: str
    content_type: str
    size: int


def sniff_content_type(data):
    """The content type told by the bytes themselves, never by the name or the client's header."""
    kind = filetype.guess(data)
    return kind.mime if kind else None


def read_upload(file_storage, max_bytes, allowed_types):
    """Read an uploaded werkzeug FileStorage, enforcing size and sniffed type."""
    if file_storage is None:
        raise Invalid("A file is required.", errors={"file": ["Missing data for required field."]})
    data = file_storage.stream.read(max_bytes + 1)
    if not data:
        raise Invalid("The file is empty.", errors={"file": ["The file is empty."]})
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"The file is larger than {max_bytes // (1024 * 1024)} MB.")
    content_type = sniff_content_type(data)
    if content_type not in allowed_types:
        raise UnsupportedMediaType(
            f"Unsupported file type ({content_type or 'unknown'}); allowed: {', '.join(sorted(allowed_types))}."
        )
    return data, content_type


def _root():
    root = current_app.config["UPLOAD_DIR"]
    os.makedirs(root, exist_ok=True)
    return root


def _path_for(key):
    if "/" in key or "\\" in key or key.startswith("."):
        raise NotFound("No such file.")
    return os.path.join(_root(), key)


def save_bytes(data, content_type, prefix="file"):
    ext = MIME_EXTENSIONS.get(content_type, "bin")
    key = f"{prefix}-{secrets.token_hex(16)}.{ext}"
    with open(_path_for(key), "wb") as handle:
        handle.write(data)
    return StoredFile(key=key, content_type=content_type, size=len(data))


def delete(key):
    try:
        os.remove(_path_for(key))
    except FileNotFoundError:
        pass


def open_path(key):
    path = _path_for(key)
    if not os.path.exists(path):
        raise NotFound("No such file.")
    return path


def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="file-download")


def signed_url(key, content_type):
    token = _serializer().dumps({"k": key, "t": content_type})
    if has_request_context():
        return url_for("files.download", token=token, _external=False)
    # A Socket.IO event runs in an app context only: the same path, from the URL map.
    adapter = current_app.url_map.bind("", script_name=current_app.config.get("APPLICATION_ROOT") or "/")
    return adapter.build("files.download", {"token": token})


def resolve_token(token, max_age=None):
    max_age = max_age or current_app.config["UPLOAD_URL_MAX_AGE"]
    try:
        data = _serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        raise NotFound("This link has expired.") from None
    except BadSignature:
        raise NotFound("No such file.") from None
    return data["k"], data["t"]
