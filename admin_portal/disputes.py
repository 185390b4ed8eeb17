"""Portal pages "Disputes": one queue of session disputes and PayPal's (from the webhooks), a session dispute's
page (facts, both sides' evidence, the pair's chat, the resolve form) and a read-only page per PayPal dispute."""
from flask import flash, g, redirect, render_template, request, send_file, url_for

from admin_portal import bp
from admin_portal.session import page_number
from app.common import storage
from app.common.errors import Conflict, Invalid, NotFound
from app.common.money import CURRENCY_EXPONENTS, format_money
from app.common.transactions import unit_of_work
from app.payments import services as payments
from app.users import services as users

DISPUTES_PER_PAGE = 25
NOTE_MAX_LENGTH = 2000


def money(amount_minor, currency):
    if amount_minor is None or currency not in CURRENCY_EXPONENTS:
        return "—" if amount_minor is None else f"{amount_minor} {currency or ''}".strip()
    return format_money(amount_minor, currency)


def _names(rows):
    ids = {i for row in rows for i in (row.student_id, row.tutor_id) if i is not None}
    return {i: users.get_user(i) for i in ids}


@bp.route("/disputes")
def dispute_queue():
    state = request.args.get("state", "open")
    state = state if state in payments.QUEUE_FILTERS else "open"
    page = page_number(request.args)
    rows, total = payments.queue_page(state, page, DISPUTES_PER_PAGE)
    pages = max(1, -(-total // DISPUTES_PER_PAGE))
    return render_template("admin_portal/disputes.html", rows=rows, total=total, page=page, pages=pages,
                           state=state, states=payments.QUEUE_FILTERS, people=_names(rows), money=money,
                           reasons=payments.REASON_LABELS)


@bp.route("/disputes/<int:dispute_id>")
def dispute_detail(dispute_id):
    try:
        dispute = payments.get_dispute(dispute_id)
    except NotFound:
        flash("No such dispute.", "error")
        return redirect(url_for("admin_portal.dispute_queue"), 303)
    student, tutor = users.get_user(dispute.student_id), users.get_user(dispute.tutor_id)
    return render_template("admin_portal/dispute.html", dispute=dispute, student=student, tutor=tutor,
                           chat=payments.pair_chat(dispute), money=money, reasons=payments.REASON_LABELS,
                           note_max_length=NOTE_MAX_LENGTH)


@bp.route("/disputes/<int:dispute_id>/evidence/<int:evidence_id>")
def dispute_evidence(dispute_id, evidence_id):
    evidence = payments.evidence_of(dispute_id, evidence_id)
    response = send_file(storage.open_path(evidence.storage_key), mimetype=evidence.content_type, max_age=0,
                         as_attachment=True, download_name=evidence.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _percent(raw):
    text = (raw or "").strip()
    if not text.isdigit() or not 0 <= int(text) <= 100:
        return None
    return int(text)


@bp.route("/disputes/<int:dispute_id>/resolve", methods=["POST"])
def resolve_dispute(dispute_id):
    back = redirect(url_for("admin_portal.dispute_detail", dispute_id=dispute_id), 303)
    percent = _percent(request.form.get("percent_to_student"))
    if percent is None:
        flash("The share back to the student is a whole percent from 0 to 100.", "error")
        return back
    note = request.form.get("note", "").strip()
    if len(note) > NOTE_MAX_LENGTH:
        flash(f"The note is at most {NOTE_MAX_LENGTH} characters.", "error")
        return back
    try:
        with unit_of_work():
            dispute = payments.resolve(g.admin, dispute_id, percent, note)
    except (Conflict, NotFound, Invalid) as error:
        flash(error.message, "error")
    else:
        flash(f"Dispute #{dispute.id} resolved: {percent}% of {money(dispute.amount_minor, dispute.currency)} back "
              "to the student, the rest to the tutor minus commission.", "success")
    return back


@bp.route("/disputes/paypal/<int:dispute_id>")
def paypal_dispute_detail(dispute_id):
    try:
        dispute = payments.get_paypal_dispute(dispute_id)
    except NotFound:
        flash("No such PayPal dispute.", "error")
        return redirect(url_for("admin_portal.dispute_queue"), 303)
    return render_template("admin_portal/paypal_dispute.html", dispute=dispute, money=money)
