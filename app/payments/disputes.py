"""Disputes of a session's payment: the student opens one while the money waits for its release (the
``DISPUTE_WINDOW_HOURS`` after completion or a student no-show), which freezes the release; the tutor answers;
an admin resolves with a split that settles the held money once.

Freezing: opening locks the booking's hold (``FOR UPDATE``) and clears its ``release_after`` in the same
transaction as the dispute row. The release job selects holds ``FOR UPDATE SKIP LOCKED`` where ``release_after``
is due, so it either skips the row a dispute is locking or, the dispute committed, re-reads the updated row and
drops it (PostgreSQL re-checks the condition on the new version); a job that locked the hold first settles it,
and the dispute then finds no hold in escrow (409). ``release_due`` also skips any hold with an open dispute.

Resolving locks the dispute row, requires it open, and settles the hold through ``escrow.settle`` (its
``hold:<id>:settle`` unique key) in the same unit of work: two racing resolutions move the money once, the
second answers 409. Events (``payments.dispute_opened``, ``…_responded``, ``…_resolved``, ``…_closed``) follow
the commit; ``payments.dispute_subscribers`` notifies both parties.
"""
import os
import re

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import FileStorage

from app.common import storage
from app.common import time as clock
from app.common.errors import Conflict, Forbidden, Invalid, NotFound, PayloadTooLarge, UnsupportedMediaType
from app.common.events import publish
from app.extensions import db
from app.messaging import services as messaging
from app.notifications import services as notifications
from app.payments import escrow
from app.payments.dispute_models import (
    DISPUTE_REASONS,
    DisputeEvidence,
    DisputeResponse,
    PaymentDispute,
)
from app.payments.models import Hold
from app.payments.paypal_models import Dispute as PayPalDispute
from app.users import services as users

BOOKING = "booking"
RESOLVED_OUTCOME = "dispute_resolved"
MAX_DETAILS = 5000
MAX_NOTE = 2000
MAX_RESPONSES = 20
MAX_EVIDENCE_PER_DISPUTE = 40
PAYPAL_RESOLVED = "RESOLVED"
QUEUE_FILTERS = ("open", "resolved", "closed", "all")
REASON_LABELS = {
    "tutor_no_show": "The tutor did not show up",
    "session_cut_short": "The session was cut short",
    "quality": "Poor quality",
    "technical_problems": "Technical problems",
    "not_as_described": "Not as described",
    "other": "Other",
}


def _locked(stmt):
    """Locked on PostgreSQL, and read afresh (an object the session already holds gets the row as locked)."""
    stmt = stmt.execution_options(populate_existing=True)
    return stmt.with_for_update() if db.engine.dialect.name == "postgresql" else stmt


# --- opening -------------------------------------------------------------------------------------------------

def _latest_hold_of(payer_id, cause_type, cause_id):
    """The id of the payer's latest hold for the cause (any state), or None: what tells a student's booking
    apart."""
    return db.session.scalar(sa.select(Hold.id).where(Hold.cause_type == cause_type, Hold.cause_id == cause_id,
                                                   Hold.payer_id == payer_id).order_by(Hold.id.desc()).limit(1))


def open_dispute_for(cause_type, cause_id):
    """The cause's open dispute, or None."""
    return db.session.scalar(sa.select(PaymentDispute).where(
        PaymentDispute.cause_type == cause_type, PaymentDispute.cause_id == cause_id, PaymentDispute.state == "open"))


def _disputable_hold(student_id, booking_id, now):
    """The booking's hold, locked, when the student may dispute it now; 404 / 409 otherwise."""
    if _latest_hold_of(student_id, BOOKING, booking_id) is None:
        raise NotFound("No such booking.")  # someone else's booking, a free one, or none: nothing of theirs held
    row = escrow.active_hold(BOOKING, booking_id)
    if row is None or row.payer_id != student_id:
        raise Conflict("This session's payment is already settled: it can no longer be disputed.")
    if open_dispute_for(BOOKING, booking_id) is not None:
        raise Conflict("This session already has an open dispute.")
    if row.release_after is None:
        raise Conflict("A session's payment can be disputed once it is completed (or marked a student no-show), "
                       "until the dispute window closes.")
    if now >= row.release_after:
        raise Conflict(f"The dispute window closed at {row.release_after.isoformat()}.",
                       errors={"booking_id": ["The dispute window has closed."]})
    return row


def open_dispute(student, booking_id, reason, details, files=(), idempotency_key=None, now=None):
    """The booking's student disputes its payment: the release is frozen until an admin resolves it.

    404 for a booking whose money the caller did not pay; 409 when it is not awaiting release (not completed yet,
    already settled, the window passed) or already has an open dispute; 422 for a bad reason or empty details."""
    now = now or clock.utcnow()
    reason, details = _checked_reason(reason), _checked_text(details, "details", MAX_DETAILS)
    files = _checked_files(files, 0)
    row = _disputable_hold(student.id, booking_id, now)
    dispute = PaymentDispute(cause_type=BOOKING, cause_id=booking_id, hold_id=row.id, student_id=row.payer_id,
                             tutor_id=row.payee_id, amount_minor=row.amount_minor, currency=row.currency,
                             reason=reason, details=details, state="open", window_ends_at=row.release_after,
                             created_at=now, updated_at=now)
    row.release_after = None  # frozen: the release job no longer sees it as due
    db.session.add(dispute)
    db.session.flush()
    _store_evidence(dispute, student.id, "student", files, None, now)
    publish("payments.dispute_opened", dispute_id=dispute.id, cause_type=BOOKING, cause_id=booking_id,
            student_id=dispute.student_id, tutor_id=dispute.tutor_id, reason=reason,
            idempotency_key=idempotency_key)
    return dispute


def _checked_reason(reason):
    if reason not in DISPUTE_REASONS:
        raise Invalid("Unknown reason.", errors={"reason": [f"Must be one of: {', '.join(DISPUTE_REASONS)}."]})
    return reason


def _checked_text(value, field, maximum):
    text = (value or "").strip()
    if not text or len(text) > maximum:
        raise Invalid(f"{field} must be 1 to {maximum} characters.",
                      errors={field: [f"Length must be between 1 and {maximum}."]})
    return text


# --- evidence ------------------------------------------------------------------------------------------------

def max_files_per_submission():
    return int(current_app.config.get("DISPUTE_MAX_EVIDENCE_FILES", 5))


def _checked_files(files, already):
    """Read and check every file before anything is stored: [(data, content_type, filename)]."""
    files = [f for f in (files or []) if f is not None]
    if any(not isinstance(f, FileStorage) for f in files):
        raise Invalid("Evidence must be uploaded files.", errors={"evidence": ["Send files, not text."]})
    limit = max_files_per_submission()
    if len(files) > limit:
        raise Invalid(f"At most {limit} evidence files at a time.",
                      errors={"evidence": [f"At most {limit} files."]})
    if already + len(files) > MAX_EVIDENCE_PER_DISPUTE:
        raise Conflict(f"A dispute keeps at most {MAX_EVIDENCE_PER_DISPUTE} evidence files.")
    return [_read(f) for f in files]


def _read(file_storage):
    """The file's bytes and sniffed type, with messaging attachments' limits (size, recognised types)."""
    limit = messaging.attachment_max_bytes()
    data = file_storage.stream.read(limit + 1)
    if not data:
        raise Invalid("An evidence file is empty.", errors={"evidence": ["A file is empty."]})
    if len(data) > limit:
        raise PayloadTooLarge(f"An evidence file is larger than {limit // (1024 * 1024)} MB.")
    content_type = messaging.sniff_attachment(data)
    if content_type not in messaging.ATTACHMENT_TYPES:
        raise UnsupportedMediaType(f"Unsupported evidence file type ({content_type or 'unknown'}); send PDF, PNG, "
                                   "JPEG, WebP, GIF, DOCX, XLSX, PPTX or plain text.")
    return data, content_type, _display_name(file_storage.filename, content_type)


def _display_name(filename, content_type):
    name = os.path.basename((filename or "").replace("\\", "/"))
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip()[:200]
    return name or f"evidence.{storage.MIME_EXTENSIONS.get(content_type, 'bin')}"


def _store_evidence(dispute, uploader_id, party, files, response, now):
    for data, content_type, filename in files:
        stored = storage.save_bytes(data, content_type, prefix="evidence")
        db.session.add(DisputeEvidence(dispute_id=dispute.id, response_id=response.id if response else None,
                                       uploader_id=uploader_id, party=party, storage_key=stored.key,
                                       content_type=content_type, size=stored.size, filename=filename,
                                       created_at=now))
    db.session.flush()


def evidence_of(dispute_id, evidence_id):
    """One evidence file of a dispute (admins' downloads), or 404."""
    evidence = db.session.get(DisputeEvidence, evidence_id)
    if evidence is None or evidence.dispute_id != dispute_id:
        raise NotFound("No such evidence file.")
    return evidence


def evidence_url(evidence):
    """A signed, expiring download URL of an evidence file (``/api/v1/files/<token>``)."""
    return storage.signed_url(evidence.storage_key, evidence.content_type)


# --- the parties ---------------------------------------------------------------------------------------------

def dispute_for_party(user, dispute_id):
    """A dispute its student or tutor may read; anyone else gets 404."""
    dispute = db.session.get(PaymentDispute, dispute_id)
    if dispute is None or user.id not in (dispute.student_id, dispute.tutor_id):
        raise NotFound("No such dispute.")
    return dispute


def _with_files():
    """Evidence and responses loaded with the page (one query each, not one per dispute)."""
    return (selectinload(PaymentDispute.evidence),
            selectinload(PaymentDispute.responses).selectinload(DisputeResponse.evidence))


def party_disputes_query(user, state=None):
    """A select of the disputes where the user is the student or the tutor, newest first."""
    mine = sa.or_(PaymentDispute.student_id == user.id, PaymentDispute.tutor_id == user.id)
    stmt = sa.select(PaymentDispute).options(*_with_files()).where(mine)
    if state:
        stmt = stmt.where(PaymentDispute.state == state)
    return stmt.order_by(PaymentDispute.id.desc())


def respond(user, dispute_id, body, files=(), now=None):
    """The tutor answers an open dispute with text and evidence files (403 for the student, 409 once closed)."""
    now = now or clock.utcnow()
    dispute = dispute_for_party(user, dispute_id)
    if user.id != dispute.tutor_id:
        raise Forbidden("Only the tutor responds to a dispute; the student's case is the dispute itself.")
    body = _checked_text(body, "body", MAX_DETAILS)
    dispute = db.session.scalar(_locked(sa.select(PaymentDispute).where(PaymentDispute.id == dispute.id)))
    if dispute.state != "open":
        raise Conflict(f"This dispute is {dispute.state}: it takes no more responses.")
    counts = db.session.execute(sa.select(
        sa.select(sa.func.count()).where(DisputeResponse.dispute_id == dispute.id).scalar_subquery(),
        sa.select(sa.func.count()).where(DisputeEvidence.dispute_id == dispute.id).scalar_subquery())).one()
    if counts[0] >= MAX_RESPONSES:
        raise Conflict(f"A dispute takes at most {MAX_RESPONSES} responses.")
    files = _checked_files(files, counts[1])
    response = DisputeResponse(dispute_id=dispute.id, author_id=user.id, body=body, created_at=now)
    db.session.add(response)
    dispute.updated_at = now
    db.session.flush()
    _store_evidence(dispute, user.id, "tutor", files, response, now)
    publish("payments.dispute_responded", dispute_id=dispute.id, response_id=response.id,
            student_id=dispute.student_id, tutor_id=dispute.tutor_id)
    return response


# --- admins --------------------------------------------------------------------------------------------------

def get_dispute(dispute_id):
    dispute = db.session.get(PaymentDispute, dispute_id)
    if dispute is None:
        raise NotFound("No such dispute.")
    return dispute


def admin_disputes_query(state=None):
    """A select of every dispute (optionally in one state), oldest open first: the queue's order."""
    stmt = sa.select(PaymentDispute).options(*_with_files())
    if state:
        stmt = stmt.where(PaymentDispute.state == state)
    return stmt.order_by(PaymentDispute.id.asc())


def resolve(admin, dispute_id, percent_to_student, note=None, now=None):
    """Settle the disputed money: ``percent_to_student`` (0-100) back to the student's wallet, the rest to the
    tutor's payable minus ``PLATFORM_COMMISSION_PERCENT``; once (a resolved dispute answers 409)."""
    if isinstance(percent_to_student, bool) or not isinstance(percent_to_student, int) \
            or not 0 <= percent_to_student <= 100:
        raise Invalid("percent_to_student is a whole number from 0 to 100.",
                      errors={"percent_to_student": ["Must be between 0 and 100."]})
    note = (note or "").strip()[:MAX_NOTE] or None
    now = now or clock.utcnow()
    dispute = db.session.scalar(_locked(sa.select(PaymentDispute).where(PaymentDispute.id == dispute_id)))
    if dispute is None:
        raise NotFound("No such dispute.")
    if dispute.state != "open":
        raise Conflict(f"This dispute is already {dispute.state}.")
    hold = db.session.scalar(_locked(sa.select(Hold).where(Hold.id == dispute.hold_id)))
    if hold is None or hold.state != "held":
        raise Conflict("The disputed money is no longer in escrow.")
    escrow.settle(hold, percent_to_student, RESOLVED_OUTCOME, now)
    dispute.state, dispute.percent_to_student, dispute.resolution_note = "resolved", percent_to_student, note
    dispute.resolved_by_id, dispute.resolved_at, dispute.updated_at = admin.id, now, now
    dispute.settle_transaction_id = hold.settle_transaction_id
    db.session.flush()
    refund, payee, commission = escrow.split(dispute.amount_minor, percent_to_student,
                                             current_app.config["PLATFORM_COMMISSION_PERCENT"])
    publish("payments.dispute_resolved", dispute_id=dispute.id, student_id=dispute.student_id,
            tutor_id=dispute.tutor_id, percent_to_student=percent_to_student, currency=dispute.currency,
            refund_minor=refund, payee_minor=payee, commission_minor=commission)
    return dispute


def close_if_settled_elsewhere(hold_id, outcome, now=None):
    """The disputed hold was settled another way (an admin's override of the booking): its open dispute is
    closed, no money moved by it. Returns the dispute or None."""
    if outcome == RESOLVED_OUTCOME:
        return None
    dispute = db.session.scalar(_locked(sa.select(PaymentDispute).where(PaymentDispute.hold_id == hold_id,
                                                                        PaymentDispute.state == "open")))
    if dispute is None:
        return None
    now = now or clock.utcnow()
    dispute.state, dispute.resolved_at, dispute.updated_at = "closed", now, now
    dispute.resolution_note = f"Closed: the payment was settled outside the dispute ({outcome})."
    db.session.flush()
    publish("payments.dispute_closed", dispute_id=dispute.id, student_id=dispute.student_id,
            tutor_id=dispute.tutor_id, outcome=outcome)
    return dispute


# --- telling the parties -------------------------------------------------------------------------------------

def _money(amount_minor, currency):
    return f"{amount_minor} {currency} (minor units)"


def _notice(dispute, change, user_id):
    booking = f"session #{dispute.cause_id}"
    if change == "opened":
        if user_id == dispute.student_id:
            return "Dispute opened", f"Your dispute of {booking} is open; the payment is frozen until it is resolved."
        return "A student disputed a session", (f"The student disputed {booking} ({REASON_LABELS[dispute.reason]})."
                                                " Respond with your side and evidence.")
    if change == "responded":
        return "The tutor responded to your dispute", f"The tutor answered your dispute of {booking}."
    if change == "closed":
        return "Dispute closed", f"The dispute of {booking} was closed: {dispute.resolution_note}"
    share = dispute.percent_to_student
    return "Dispute resolved", (f"The dispute of {booking} was resolved: {share}% of "
                                f"{_money(dispute.amount_minor, dispute.currency)} back to the student, the rest "
                                f"to the tutor." + (f" Note: {dispute.resolution_note}" if dispute.resolution_note
                                                    else ""))


def tell_parties(dispute_id, change):
    """An in-app notification and an email (outbox) for the parties a change concerns; the caller's unit
    commits. ``change``: opened, responded (the student), resolved, closed."""
    dispute = get_dispute(dispute_id)
    recipients = (dispute.student_id,) if change == "responded" else (dispute.student_id, dispute.tutor_id)
    for user_id in recipients:
        title, text = _notice(dispute, change, user_id)
        user = users.get_user(user_id)
        notifications.notify(user_id, f"dispute_{change}", title, text,
                             data={"dispute_id": dispute.id, "booking_id": dispute.cause_id, "state": dispute.state})
        notifications.queue_email(user.email, f"Tutorhub: {title.lower()}", text, user_id=user_id,
                                  kind=f"dispute_{change}")


# --- the portal's queue ----------------------------------------------------------------------------------------

def _platform_rows(state):
    stmt = sa.select(sa.literal("platform").label("source"), PaymentDispute.id.label("id"),
                     PaymentDispute.state.label("state"), PaymentDispute.reason.label("reason"),
                     PaymentDispute.amount_minor.label("amount_minor"), PaymentDispute.currency.label("currency"),
                     PaymentDispute.student_id.label("student_id"), PaymentDispute.tutor_id.label("tutor_id"),
                     PaymentDispute.created_at.label("opened_at"))
    return stmt.where(PaymentDispute.state == state) if state != "all" else stmt


def _paypal_rows(state):
    stmt = sa.select(sa.literal("paypal").label("source"), PayPalDispute.id.label("id"),
                     PayPalDispute.status.label("state"), PayPalDispute.reason.label("reason"),
                     PayPalDispute.amount_minor.label("amount_minor"), PayPalDispute.currency.label("currency"),
                     sa.null().label("student_id"), sa.null().label("tutor_id"),
                     PayPalDispute.created_at.label("opened_at"))
    if state == "open":
        return stmt.where(PayPalDispute.status != PAYPAL_RESOLVED)
    if state == "resolved":
        return stmt.where(PayPalDispute.status == PAYPAL_RESOLVED)
    return stmt if state == "all" else None


def queue_page(state, page, per_page):
    """One page of the admin queue mixing our disputes and PayPal's (``source`` platform / paypal), oldest
    first: (rows, total). PayPal disputes count as open until PayPal reports them RESOLVED."""
    state = state if state in QUEUE_FILTERS else "open"
    parts = [part for part in (_platform_rows(state), _paypal_rows(state)) if part is not None]
    union = sa.union_all(*parts).subquery()
    total = db.session.scalar(sa.select(sa.func.count()).select_from(union))
    rows = db.session.execute(sa.select(union).order_by(union.c.opened_at, union.c.source, union.c.id)
                              .limit(per_page).offset((page - 1) * per_page)).all()
    return rows, total


def get_paypal_dispute(dispute_id):
    """A PayPal dispute as the webhooks recorded it (read-only here: it is resolved at PayPal)."""
    dispute = db.session.get(PayPalDispute, dispute_id)
    if dispute is None:
        raise NotFound("No such PayPal dispute.")
    return dispute


def pair_chat(dispute):
    """The student's and tutor's chat (messaging's read-only view), oldest first."""
    return messaging.pair_history(dispute.student_id, dispute.tutor_id)

