"""Portal "Disputes": one queue with session and PayPal disputes, a dispute's page (both sides' evidence, the
pair's chat), the resolve form (CSRF, 0-100, once), PayPal disputes read-only."""
import io
from datetime import timedelta

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from app.common.time import utcnow
from app.common.transactions import unit_of_work
from app.extensions import db
from app.payments.dispute_models import DisputeEvidence, PaymentDispute
from app.payments.models import LedgerTransaction
from tests.admin_portal.conftest import PNG_BYTES, html
from tests.factories import BookingFactory, UserFactory, fund_wallet
from tests.payments.helpers import balance

STUDENT_NOTE = b"Session notes: the tutor left after 20 minutes.\n"


def _file(data, name):
    return FileStorage(stream=io.BytesIO(data), filename=name)


@pytest.fixture
def dispute(db):
    """Sam paid 40.00 USD for a session Tess completed an hour ago; Sam disputes it, Tess answered; they chatted."""
    from app.messaging import services as messaging
    from app.payments import services as payments

    student = UserFactory(roles=["student"], full_name="Sam Student")
    tutor = UserFactory(roles=["tutor"], full_name="Tess Tutor")
    fund_wallet(student, 10000)
    start = utcnow().replace(microsecond=0) - timedelta(hours=2)
    booking = BookingFactory(student=student, tutor=tutor, state="completed", start_at=start,
                             completed_at=start + timedelta(hours=1))
    with unit_of_work():
        payments.hold_for_booking(booking.id, student.id, tutor.id, 4000, "USD")
        payments.settle_booking(booking.id, "completed")
        conversation, _created = messaging.get_or_create_pair(student.id, tutor.id)
        messaging.send_message(student.id, conversation.id, "Why did you leave so early?")
    with unit_of_work():
        row = payments.open_dispute(student, booking.id, "session_cut_short", "The tutor left after 20 minutes.",
                                    [_file(STUDENT_NOTE, "notes.txt")])
    with unit_of_work():
        payments.respond(tutor, row.id, "The student's connection dropped.", [_file(PNG_BYTES, "call-log.png")])
    return db.session.get(PaymentDispute, row.id)


@pytest.fixture
def paypal_dispute(db):
    from app.payments import webhooks

    with unit_of_work():
        webhooks.record_dispute("CUSTOMER.DISPUTE.CREATED", {
            "dispute_id": "PP-D-7001", "status": "WAITING_FOR_SELLER_RESPONSE", "reason": "UNAUTHORISED",
            "dispute_amount": {"currency_code": "USD", "value": "25.00"}})
    from app.payments.paypal_models import Dispute

    return db.session.scalar(sa.select(Dispute).where(Dispute.dispute_id == "PP-D-7001"))


def test_queue_shows_session_and_paypal_disputes(signed_in, dispute, paypal_dispute):
    page = html(signed_in.client.get("/admin/disputes"))
    assert f'id="dispute-{dispute.id}"' in page and "Sam Student" in page and "Tess Tutor" in page
    assert f'id="paypal-dispute-{paypal_dispute.id}"' in page and "WAITING_FOR_SELLER_RESPONSE" in page
    assert "40.00 USD" in page and "25.00 USD" in page and "The session was cut short" in page
    assert 'href="/admin/disputes"' in html(signed_in.client.get("/admin/"))
    resolved = html(signed_in.client.get("/admin/disputes?state=resolved"))
    assert f'id="dispute-{dispute.id}"' not in resolved and "No resolved disputes" in resolved
    assert f'id="dispute-{dispute.id}"' in html(signed_in.client.get("/admin/disputes?state=bogus"))  # → open
    assert "No open disputes" in html(signed_in.client.get("/admin/disputes?page=99999999"))


def test_detail_shows_both_sides_and_the_chat(signed_in, dispute):
    page = html(signed_in.client.get(f"/admin/disputes/{dispute.id}"))
    assert "The tutor left after 20 minutes." in page and "The student&#39;s connection dropped." in page
    assert "Why did you leave so early?" in page
    evidence = {e.filename: e for e in db.session.scalars(sa.select(DisputeEvidence))}
    for name, data in (("notes.txt", STUDENT_NOTE), ("call-log.png", PNG_BYTES)):
        url = f"/admin/disputes/{dispute.id}/evidence/{evidence[name].id}"
        assert f'href="{url}"' in page
        response = signed_in.client.get(url)
        assert response.status_code == 200 and response.data == data
        assert response.headers["Content-Disposition"].startswith("attachment")
    assert signed_in.client.get(f"/admin/disputes/{dispute.id + 1}/evidence/{evidence['notes.txt'].id}")\
        .status_code == 404
    assert 'name="percent_to_student"' in page


def test_evidence_needs_a_signed_in_admin(client, dispute):
    evidence = db.session.scalar(sa.select(DisputeEvidence))
    response = client.get(f"/admin/disputes/{dispute.id}/evidence/{evidence.id}")
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def test_resolve_form_settles_once(signed_in, dispute):
    page = f"/admin/disputes/{dispute.id}"
    response = signed_in.submit(page, f"{page}/resolve", percent_to_student="25", note="Partly delivered.")
    assert response.status_code == 303
    follow = html(signed_in.client.get(response.headers["Location"]))
    assert "resolved: 25% of 40.00 USD" in follow and 'name="percent_to_student"' not in follow
    db.session.expire_all()
    row = db.session.get(PaymentDispute, dispute.id)
    assert (row.state, row.percent_to_student, row.resolution_note) == ("resolved", 25, "Partly delivered.")
    assert balance(dispute.student_id) == 6000 + 1000
    assert balance(dispute.tutor_id, "tutor_payable") == 3000 - 450
    again = signed_in.submit(page, f"{page}/resolve", percent_to_student="100", note="")
    assert "already resolved" in html(signed_in.client.get(again.headers["Location"]))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LedgerTransaction)
                             .where(LedgerTransaction.kind == "booking_settlement")) == 1


@pytest.mark.parametrize("percent", ["101", "-5", "abc", "", "12.5"])
def test_out_of_range_percent_moves_nothing(signed_in, dispute, percent):
    page = f"/admin/disputes/{dispute.id}"
    response = signed_in.submit(page, f"{page}/resolve", percent_to_student=percent)
    assert "whole percent from 0 to 100" in html(signed_in.client.get(response.headers["Location"]))
    db.session.expire_all()
    assert db.session.get(PaymentDispute, dispute.id).state == "open"
    assert balance(dispute.student_id) == 6000


def test_resolve_without_csrf_is_refused(signed_in, dispute):
    response = signed_in.client.post(f"/admin/disputes/{dispute.id}/resolve", data={"percent_to_student": "100"})
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(PaymentDispute, dispute.id).state == "open"


def test_paypal_dispute_page_is_read_only(signed_in, paypal_dispute):
    page = html(signed_in.client.get(f"/admin/disputes/paypal/{paypal_dispute.id}"))
    assert "PP-D-7001" in page and "UNAUTHORISED" in page and "25.00 USD" in page
    assert "resolved there" in page and "<form" not in page.split("</header>")[1]


def test_unknown_disputes_go_back_to_the_queue(signed_in):
    for path in ("/admin/disputes/999999", "/admin/disputes/paypal/999999"):
        response = signed_in.client.get(path)
        assert response.status_code == 303 and response.headers["Location"] == "/admin/disputes"
    assert "No such" in html(signed_in.client.get("/admin/disputes"))


def test_the_demo_seed_leaves_one_open_dispute_in_the_queue(signed_in):
    from app.seed import seed_demo

    seed_demo(market=False)
    dispute = db.session.scalar(sa.select(PaymentDispute))
    page = html(signed_in.client.get("/admin/disputes"))
    assert f'id="dispute-{dispute.id}"' in page and "Sam Patel" in page and "James Okafor" in page
    detail = html(signed_in.client.get(f"/admin/disputes/{dispute.id}"))
    assert "session-log.txt" in detail and "James joined 20 minutes late" in detail
    assert "my previous session is running over" in detail
