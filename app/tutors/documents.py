"""Credential documents: upload, review by admins, and the tutor's verified flag they drive.

Behind ``app.tutors.services``; nothing here commits. A withdrawn document's file is deleted by a subscriber
once the withdrawal is committed (``tutor_document.withdrawn``).
"""
import sqlalchemy as sa
from sqlalchemy.orm import joinedload
from werkzeug.utils import secure_filename

from app.common import storage
from app.common.errors import Conflict, Invalid, NotFound
from app.common.events import publish
from app.common.time import utcnow
from app.extensions import db
from app.notifications.services import queue_email
from app.tutors.models import CREDENTIAL_KINDS, TutorDocument, TutorProfile
from app.users.models import User, UserRole

DOCUMENT_TYPES = {"application/pdf", "image/png", "image/jpeg"}
DOCUMENT_MAX_BYTES = 10 * 1024 * 1024
KIND_LABELS = {"id_card": "ID document", "certificate": "certificate", "diploma": "diploma", "cv": "CV"}


def _clean_filename(name, content_type):
    cleaned = secure_filename(name or "")[:200]
    return cleaned or f"document.{storage.MIME_EXTENSIONS[content_type]}"


def upload_document(tutor, kind, file_storage):
    """Store a sniffed, size-bounded file as a pending document of ``tutor``."""
    data, content_type = storage.read_upload(file_storage, DOCUMENT_MAX_BYTES, DOCUMENT_TYPES)
    stored = storage.save_bytes(data, content_type, prefix="tutordoc")
    document = TutorDocument(
        tutor_id=tutor.id, kind=kind, storage_key=stored.key, content_type=stored.content_type,
        size_bytes=stored.size, original_filename=_clean_filename(file_storage.filename, content_type),
        status="pending",
    )
    db.session.add(document)
    db.session.flush()
    return document


def my_documents(tutor):
    stmt = sa.select(TutorDocument).where(TutorDocument.tutor_id == tutor.id).order_by(TutorDocument.id)
    return db.session.scalars(stmt).all()


def my_document(tutor, document_id):
    """The tutor's own document; someone else's answers 404 like a missing one."""
    document = db.session.get(TutorDocument, document_id)
    if document is None or document.tutor_id != tutor.id:
        raise NotFound("No such document.")
    return document


def delete_my_document(tutor, document_id):
    document = my_document(tutor, document_id)
    if document.status != "pending":
        raise Conflict(f"This document was already {document.status}; only pending documents can be deleted.")
    db.session.delete(document)
    publish("tutor_document.withdrawn", document_id=document.id, tutor_id=tutor.id, storage_key=document.storage_key)


def document_download_url(document):
    """A signed, expiring URL to the file (UPLOAD_URL_MAX_AGE seconds)."""
    return storage.signed_url(document.storage_key, document.content_type)


def review_query(status="pending"):
    """Documents in a status, oldest first, tutors loaded: the verification queue."""
    stmt = sa.select(TutorDocument).options(joinedload(TutorDocument.tutor))
    if status:
        stmt = stmt.where(TutorDocument.status == status)
    return stmt.order_by(TutorDocument.created_at, TutorDocument.id)


def list_documents_for_review(status="pending"):
    return db.session.scalars(review_query(status)).unique().all()


def get_document(document_id):
    document = db.session.get(TutorDocument, document_id)
    if document is None:
        raise NotFound("No such document.")
    return document


def approve_document(admin_user, document_id):
    return _decide(admin_user, document_id, "approved", None)


def reject_document(admin_user, document_id, reason):
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("A reason is required to reject a document.", errors={"reason": ["Required when rejecting."]})
    return _decide(admin_user, document_id, "rejected", reason)


def _decide(admin_user, document_id, status, reason):
    """Decide, recompute the tutor's verified flag and queue the email, all in one transaction."""
    document = db.session.scalar(
        sa.select(TutorDocument).where(TutorDocument.id == document_id).with_for_update()
    )
    if document is None:
        raise NotFound("No such document.")
    if document.status != "pending":
        raise Conflict(f"This document was already {document.status}.")
    document.status, document.reason = status, reason
    document.decided_by_id, document.decided_at = admin_user.id, utcnow()
    db.session.flush()
    verified = recompute_verified(document.tutor_id)
    _queue_decision_email(document, verified)
    return document


def is_verified(tutor_id):
    """An approved ID document and at least one approved certificate or diploma."""
    approved = sa.select(TutorDocument.kind).where(
        TutorDocument.tutor_id == tutor_id, TutorDocument.status == "approved"
    )
    kinds = set(db.session.scalars(approved))
    return "id_card" in kinds and bool(kinds & set(CREDENTIAL_KINDS))


def recompute_verified(tutor_id):
    verified = is_verified(tutor_id)
    profile = db.session.get(TutorProfile, tutor_id)
    if profile is not None:
        profile.verified = verified
    return verified


def _queue_decision_email(document, verified):
    tutor = document.tutor
    label = KIND_LABELS[document.kind]
    if document.status == "approved":
        subject = f"Your {label} was approved"
        body = f"Hello {tutor.full_name},\n\nyour {label} ({document.original_filename}) was approved."
    else:
        subject = f"Your {label} was not accepted"
        body = (f"Hello {tutor.full_name},\n\nyour {label} ({document.original_filename}) was not accepted.\n"
                f"Reason: {document.reason}\n\nYou can upload a new document from your profile.")
    if verified:
        body += "\n\nYour profile now shows the verified badge."
    queue_email(tutor.email, subject, body + "\n\nThe Tutorhub team", user_id=tutor.id,
                kind="tutor_document_decision", dedupe_key=f"tutor-document:{document.id}:decision")


def _active_role_count(role):
    return (sa.select(sa.func.count()).select_from(UserRole).join(User, User.id == UserRole.user_id)
            .where(UserRole.role == role, User.is_active.is_(True)))


def dashboard_counts():
    """Headline numbers for the admin dashboard."""
    scalar = db.session.scalar
    return {
        "users": scalar(sa.select(sa.func.count()).select_from(User).where(User.is_active.is_(True))),
        "students": scalar(_active_role_count("student")),
        "tutors": scalar(_active_role_count("tutor")),
        "tutor_profiles": scalar(sa.select(sa.func.count()).select_from(TutorProfile)),
        "verified_tutors": scalar(
            sa.select(sa.func.count()).select_from(TutorProfile).join(User, User.id == TutorProfile.user_id)
            .where(TutorProfile.verified.is_(True), User.is_active.is_(True))
        ),
        "pending_documents": scalar(
            sa.select(sa.func.count()).select_from(TutorDocument).where(TutorDocument.status == "pending")
        ),
    }
