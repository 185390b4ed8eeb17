"""Message attachments: documents and images recognised from their bytes, private until sent in a message."""
import io
import os
import re
import zipfile

import sqlalchemy as sa
from flask import current_app

from app.common import storage
from app.common.errors import Invalid, NotFound, PayloadTooLarge, UnsupportedMediaType
from app.extensions import db
from app.messaging.models import Attachment, ConversationParticipant, Message

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
IMAGE_AND_PDF = {"application/pdf", "image/png", "image/jpeg", "image/webp", "image/gif"}
ALLOWED_TYPES = IMAGE_AND_PDF | {DOCX, XLSX, PPTX, "text/plain"}

# Office Open XML: the main part's content type as declared in [Content_Types].xml, and the part itself.
_OFFICE_MAIN_PARTS = (
    (DOCX, b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml", "word/document.xml"),
    (XLSX, b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml", "xl/workbook.xml"),
    (PPTX, b"application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
     "ppt/presentation.xml"),
)
_CONTENT_TYPES_MAX = 256 * 1024
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def max_bytes():
    return int(current_app.config.get("ATTACHMENT_MAX_BYTES", DEFAULT_MAX_BYTES))


def _office_type(data):
    """DOCX/XLSX/PPTX only when [Content_Types].xml declares the main part and it exists; macros refused."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "[Content_Types].xml" not in names or any(n.lower().endswith("vbaproject.bin") for n in names):
                return None
            with archive.open("[Content_Types].xml") as handle:
                declared = handle.read(_CONTENT_TYPES_MAX + 1)  # bounded read: a zip bomb stops here
    except (zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, OSError, RuntimeError, ValueError, EOFError):
        return None
    if len(declared) > _CONTENT_TYPES_MAX or b"macroEnabled" in declared:
        return None
    for mime, main_type, part in _OFFICE_MAIN_PARTS:
        if main_type in declared and part in names:
            return mime
    return None


def _is_plain_text(data):
    if data.startswith(b"#!") or _CONTROL.search(data):
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def sniff(data):
    """The content type told by the bytes (never the name or the client's header), or None."""
    if data.startswith(b"PK\x03\x04"):
        return _office_type(data)
    kind = storage.sniff_content_type(data)
    if kind is not None:
        return kind
    return "text/plain" if _is_plain_text(data) else None


def _display_name(filename, content_type):
    name = os.path.basename((filename or "").replace("\\", "/"))
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip()[:200]
    return name or f"file.{storage.MIME_EXTENSIONS.get(content_type, 'bin')}"


def upload(uploader_id, file_storage):
    """Store an upload for the user; it can then be sent in one message of theirs."""
    if file_storage is None:
        raise Invalid("A file is required.", errors={"file": ["Missing data for required field."]})
    limit = max_bytes()
    data = file_storage.stream.read(limit + 1)
    if not data:
        raise Invalid("The file is empty.", errors={"file": ["The file is empty."]})
    if len(data) > limit:
        raise PayloadTooLarge(f"The file is larger than {limit // (1024 * 1024)} MB.")
    content_type = sniff(data)
    if content_type not in ALLOWED_TYPES:
        raise UnsupportedMediaType(
            f"Unsupported file type ({content_type or 'unknown'}); send PDF, PNG, JPEG, WebP, GIF, DOCX, XLSX, "
            "PPTX or plain text."
        )
    stored = storage.save_bytes(data, content_type, prefix="attachment")
    attachment = Attachment(uploader_id=uploader_id, storage_key=stored.key, content_type=content_type,
                            size=stored.size, filename=_display_name(file_storage.filename, content_type))
    db.session.add(attachment)
    db.session.flush()
    return attachment


def claim_for_message(uploader_id, attachment_ids):
    """The user's own unsent attachments with these ids; anything else is 404."""
    ids = list(dict.fromkeys(attachment_ids or []))
    if not ids:
        return []
    found = list(db.session.scalars(
        sa.select(Attachment)
        .where(Attachment.id.in_(ids), Attachment.uploader_id == uploader_id, Attachment.message_id.is_(None))
        .order_by(Attachment.id)
    ))
    if len(found) != len(ids):
        missing = sorted(set(ids) - {a.id for a in found})
        raise NotFound("No such attachment.", errors={"attachment_ids": [f"Unknown attachment ids: {missing}"]})
    return found


def get_visible(attachment_id, user_id):
    """An attachment its uploader, or a participant of the conversation it was sent in, may download."""
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound("No such attachment.")
    if attachment.uploader_id == user_id:
        return attachment
    if attachment.message_id is not None:
        allowed = db.session.scalar(
            sa.select(sa.exists().where(
                ConversationParticipant.user_id == user_id,
                ConversationParticipant.conversation_id == sa.select(Message.conversation_id)
                .where(Message.id == attachment.message_id).scalar_subquery(),
            ))
        )
        if allowed:
            return attachment
    raise NotFound("No such attachment.")


def attachment_dict(attachment):
    return {"id": attachment.id, "filename": attachment.filename, "content_type": attachment.content_type,
            "size": attachment.size, "key": attachment.storage_key}


def present(data):
    """Public shape of an attachment dict: a signed, expiring download URL instead of the storage key."""
    out = {k: v for k, v in data.items() if k != "key"}
    out["url"] = storage.signed_url(data["key"], data["content_type"])
    return out


def public_attachment(attachment):
    """What the API answers for an attachment row."""
    return present(attachment_dict(attachment))
