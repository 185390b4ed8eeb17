"""Message attachments: documents and images recognised from their bytes, private until sent in a message.

Uploads are bounded per user: bytes uploaded in the last 24 hours (ATTACHMENT_DAILY_QUOTA_BYTES) and bytes of
uploads not yet sent (ATTACHMENT_UNSENT_QUOTA_BYTES), both checked under a per-uploader lock so concurrent
uploads cannot overshoot. Unsent uploads older than ATTACHMENT_UNSENT_MAX_AGE_HOURS are deleted, file and row,
by ``delete_stale_uploads`` (a periodic job).
"""
import io
import os
import re
import zipfile
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from app.common import storage
from app.common import time as clock
from app.common.database import LOCK_UPLOADER, lock_keys
from app.common.errors import Invalid, NotFound, PayloadTooLarge, TooManyRequests, UnsupportedMediaType
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
    now = clock.utcnow()
    assert_within_quota(uploader_id, len(data), now)
    stored = storage.save_bytes(data, content_type, prefix="attachment")
    attachment = Attachment(uploader_id=uploader_id, storage_key=stored.key, content_type=content_type,
                            size=stored.size, filename=_display_name(file_storage.filename, content_type),
                            created_at=now)
    db.session.add(attachment)
    db.session.flush()
    return attachment


def assert_within_quota(uploader_id, size, now):
    """429 when ``size`` more bytes would pass the user's daily upload quota or their unsent-uploads cap.

    Takes the uploader's lock first, so concurrent uploads of one user are counted one after another."""
    config = current_app.config
    daily = int(config.get("ATTACHMENT_DAILY_QUOTA_BYTES") or 0)
    unsent = int(config.get("ATTACHMENT_UNSENT_QUOTA_BYTES") or 0)
    if not daily and not unsent:
        return
    lock_keys(db.session, LOCK_UPLOADER, (uploader_id,))
    recent = Attachment.created_at > now - timedelta(hours=24)
    pending = Attachment.message_id.is_(None)
    uploaded_today, held_unsent = db.session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(sa.case((recent, Attachment.size), else_=0)), 0),
                  sa.func.coalesce(sa.func.sum(sa.case((pending, Attachment.size), else_=0)), 0))
        .where(Attachment.uploader_id == uploader_id, sa.or_(recent, pending))
    ).one()
    if daily and uploaded_today + size > daily:
        raise TooManyRequests(
            f"Daily upload quota reached: at most {daily} bytes per 24 hours ({uploaded_today} used).",
            errors={"file": ["Daily upload quota reached."]})
    if unsent and held_unsent + size > unsent:
        hours = config.get("ATTACHMENT_UNSENT_MAX_AGE_HOURS", 24)
        raise TooManyRequests(
            f"Too many unsent uploads: at most {unsent} bytes may wait to be sent ({held_unsent} waiting); send "
            f"them in a message, or wait: unsent uploads are deleted after {hours:g} hours.",
            errors={"file": ["Too many unsent uploads."]})


def delete_stale_uploads(now=None, batch=500):
    """Delete unsent uploads older than ATTACHMENT_UNSENT_MAX_AGE_HOURS, files then rows; returns how many.

    The files go first: if the transaction then fails, the rows stay and the next run deletes them (a missing
    file is no error), so nothing is left on disk without a row. On PostgreSQL rows a send is claiming right now
    are skipped (locked), and a send that waited on a deleted row finds it gone (404)."""
    now = now or clock.utcnow()
    cutoff = now - timedelta(hours=float(current_app.config.get("ATTACHMENT_UNSENT_MAX_AGE_HOURS", 24)))
    stmt = (sa.select(Attachment.id, Attachment.storage_key)
            .where(Attachment.message_id.is_(None), Attachment.created_at < cutoff)
            .order_by(Attachment.id).limit(batch))
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    rows = db.session.execute(stmt).all()
    for row in rows:
        storage.delete(row.storage_key)
    if rows:
        db.session.execute(sa.delete(Attachment).where(Attachment.id.in_([row.id for row in rows]))
                           .execution_options(synchronize_session=False))
    return len(rows)


def claim_for_message(uploader_id, attachment_ids):
    """The user's own unsent attachments with these ids, locked (PostgreSQL) against the cleanup; else 404."""
    ids = list(dict.fromkeys(attachment_ids or []))
    if not ids:
        return []
    stmt = (sa.select(Attachment)
            .where(Attachment.id.in_(ids), Attachment.uploader_id == uploader_id, Attachment.message_id.is_(None))
            .order_by(Attachment.id))
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    found = list(db.session.scalars(stmt))
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
