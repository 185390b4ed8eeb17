"""Disputes of a session's payment: opening (and freezing the release), responding, reading, resolving."""
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa
from werkzeug.test import encode_multipart

from app.extensions import db
from app.notifications.models import Notification
from app.payments.dispute_models import DisputeEvidence, PaymentDispute
from app.payments.models import Hold, LedgerTransaction
from tests.conftest import assert_error
from tests.factories import UserFactory
from tests.payments.conftest import MONDAY_0900_EDT, balances
from tests.payments.disputes_helpers import (
    API,
    DONE_AT,
    PNG,
    TEXT,
    completed_session,
    open_dispute,
    respond,
)


@pytest.fixture
def booking_id(client, auth, freeze, student, tutor):
    return completed_session(client, auth, freeze, student, tutor)


@pytest.fixture
def admin(app):
    return UserFactory(roles=["admin"])


@pytest.fixture
def dispute(client, auth, student, booking_id):
    response = open_dispute(client, auth, student, booking_id)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _hold(booking_id):
    db.session.rollback()
    return db.session.scalar(sa.select(Hold).where(Hold.cause_type == "booking", Hold.cause_id == booking_id))


def _kinds(user_id):
    db.session.rollback()
    return sorted(db.session.scalars(sa.select(Notification.kind).where(Notification.user_id == user_id)
                                     .where(Notification.kind.like("dispute_%"))))


# --- opening ---------------------------------------------------------------------------------------------------

def test_student_opens_a_dispute_with_evidence_and_the_release_is_frozen(client, auth, student, tutor, booking_id):
    assert _hold(booking_id).release_after == DONE_AT + timedelta(hours=48)
    response = open_dispute(client, auth, student, booking_id, files=((TEXT, "notes.txt"), (PNG, "screen.png")))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["booking_id"], body["student_id"], body["tutor_id"]) == (booking_id, student.id, tutor.id)
    assert (body["amount_minor"], body["currency"], body["state"]) == (3000, "USD", "open")
    assert body["reason"] == "session_cut_short" and body["details"] == "Ended 40 minutes early."
    assert [(e["filename"], e["content_type"], e["party"]) for e in body["evidence"]] == [
        ("notes.txt", "text/plain", "student"), ("screen.png", "image/png", "student")]
    assert client.get(body["evidence"][0]["url"]).data == TEXT
    hold = _hold(booking_id)
    assert hold.state == "held" and hold.release_after is None
    assert body["window_ends_at"].startswith((DONE_AT + timedelta(hours=48)).isoformat()[:19])
    assert _kinds(student.id) == ["dispute_opened"] and _kinds(tutor.id) == ["dispute_opened"]


def test_the_release_job_does_not_pay_a_disputed_session(client, auth, freeze, student, tutor, booking_id, dispute):
    from jobs import tasks

    freeze(DONE_AT + timedelta(days=5))
    assert tasks.release_due_escrow() == 0
    assert _hold(booking_id).state == "held"
    assert balances(tutor.id) == {}
    assert balances(None)["escrow"] == 3000


def test_a_hold_made_due_again_by_an_admin_stays_frozen_while_disputed(client, auth, freeze, booking_id, dispute,
                                                                       admin):
    from jobs import tasks

    url = f"{API}/admin/bookings/{booking_id}/state"
    headers = auth.headers(admin)
    assert client.post(url, json={"state": "confirmed", "note": "undo"}, headers=headers).status_code == 200
    assert client.post(url, json={"state": "completed", "note": "redo"}, headers=headers).status_code == 200
    assert _hold(booking_id).release_after is not None
    freeze(DONE_AT + timedelta(days=5))
    assert tasks.release_due_escrow() == 0
    assert _hold(booking_id).state == "held"


def test_one_open_dispute_per_booking(client, auth, student, booking_id, dispute):
    assert_error(open_dispute(client, auth, student, booking_id), 409, "already has an open dispute")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PaymentDispute)) == 1


def test_only_the_bookings_student_disputes(client, auth, tutor, booking_id):
    assert_error(open_dispute(client, auth, tutor, booking_id), 404)
    assert_error(open_dispute(client, auth, UserFactory(), booking_id), 404)
    assert_error(open_dispute(client, auth, UserFactory(), 999999), 404)
    assert_error(client.post(f"{API}/bookings/{booking_id}/disputes", data={"reason": "other", "details": "x"},
                             content_type="multipart/form-data"), 401)


def test_not_before_completion_nor_after_the_window(client, auth, freeze, student, tutor):
    freeze(MONDAY_0900_EDT - timedelta(days=8))
    pending = client.post(f"{API}/bookings", json={"tutor_id": tutor.id, "start": "2026-03-10T13:00:00+00:00",
                                                   "duration": 60, "subject": "calculus"},
                          headers=auth.headers(student)).get_json()["id"]
    assert_error(open_dispute(client, auth, student, pending), 409, "once it is completed")
    booking_id = completed_session(client, auth, freeze, student, tutor)
    freeze(DONE_AT + timedelta(hours=48))
    assert_error(open_dispute(client, auth, student, booking_id), 409, "window closed")
    from jobs import tasks

    assert tasks.release_due_escrow() == 1
    assert_error(open_dispute(client, auth, student, booking_id), 409, "already settled")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PaymentDispute)) == 0


def test_a_student_no_show_can_be_disputed(client, auth, freeze, student, tutor):
    freeze(MONDAY_0900_EDT - timedelta(days=8))
    booking_id = client.post(f"{API}/bookings", json={"tutor_id": tutor.id, "start": "2026-03-09T13:00:00+00:00",
                                                      "duration": 60, "subject": "calculus"},
                             headers=auth.headers(student)).get_json()["id"]
    client.post(f"{API}/bookings/{booking_id}/accept", headers=auth.headers(tutor))
    freeze(MONDAY_0900_EDT + timedelta(minutes=30))
    assert client.post(f"{API}/bookings/{booking_id}/no-show", headers=auth.headers(tutor)).status_code == 200
    response = open_dispute(client, auth, student, booking_id, reason="tutor_no_show", details="I was there.")
    assert response.status_code == 201, response.get_json()


@pytest.mark.parametrize(("form", "field"), [
    ({"reason": "bored"}, "reason"),
    ({"details": ""}, "details"),
    ({"details": "x" * 5001}, "details"),
    ({"colour": "red"}, "colour"),
])
def test_bad_input_is_422_and_changes_nothing(client, auth, student, booking_id, form, field):
    body = assert_error(open_dispute(client, auth, student, booking_id, **form), 422)
    assert field in body["errors"]
    assert _hold(booking_id).release_after is not None


def test_missing_fields_and_too_many_files(client, auth, student, booking_id, app):
    response = client.post(f"{API}/bookings/{booking_id}/disputes", data={}, headers=auth.headers(student),
                           content_type="multipart/form-data")
    assert set(assert_error(response, 422)["errors"]) == {"reason", "details"}
    many = tuple((TEXT, f"n{i}.txt") for i in range(app.config["DISPUTE_MAX_EVIDENCE_FILES"] + 1))
    assert "evidence" in assert_error(open_dispute(client, auth, student, booking_id, files=many), 422)["errors"]
    response = client.post(f"{API}/bookings/{booking_id}/disputes", headers=auth.headers(student),
                           data={"reason": "other", "details": "x", "evidence": "not a file"},
                           content_type="multipart/form-data")
    assert "evidence" in assert_error(response, 422)["errors"]


def test_bad_files(client, auth, student, booking_id, app, monkeypatch):
    assert_error(open_dispute(client, auth, student, booking_id, files=((b"\x00\x01\x02\x03", "x.bin"),)), 415)
    assert_error(open_dispute(client, auth, student, booking_id, files=((b"", "empty.txt"),)), 422)
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_BYTES", 100)
    assert_error(open_dispute(client, auth, student, booking_id, files=((PNG * 3, "big.png"),)), 413)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DisputeEvidence)) == 0
    assert _hold(booking_id).release_after is not None


def test_idempotency_key_replays_the_first_answer(client, auth, student, booking_id):
    boundary, body = encode_multipart({"reason": "quality", "details": "Unprepared."})
    headers = {**auth.headers(student), "Idempotency-Key": "dispute-1"}
    kwargs = {"data": body, "headers": headers, "content_type": f"multipart/form-data; boundary={boundary}"}
    first = client.post(f"{API}/bookings/{booking_id}/disputes", **kwargs)
    assert first.status_code == 201, first.get_json()
    again = client.post(f"{API}/bookings/{booking_id}/disputes", **kwargs)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    boundary, other = encode_multipart({"reason": "quality", "details": "Something else."})
    assert_error(client.post(f"{API}/bookings/{booking_id}/disputes", data=other, headers=headers,
                             content_type=f"multipart/form-data; boundary={boundary}"), 422)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PaymentDispute)) == 1


# --- reading ---------------------------------------------------------------------------------------------------

def test_both_parties_read_it_and_others_get_404(client, auth, student, tutor, dispute):
    for user in (student, tutor):
        response = client.get(f"{API}/disputes/{dispute['id']}", headers=auth.headers(user))
        assert response.status_code == 200 and response.get_json()["id"] == dispute["id"]
    assert_error(client.get(f"{API}/disputes/{dispute['id']}", headers=auth.headers(UserFactory())), 404)
    assert_error(client.get(f"{API}/disputes/999999", headers=auth.headers(student)), 404)
    assert_error(client.get(f"{API}/disputes/{dispute['id']}"), 401)


def test_lists_are_paginated_and_filtered(client, auth, student, tutor, dispute):
    for user in (student, tutor):
        response = client.get(f"{API}/disputes?page_size=1", headers=auth.headers(user))
        assert [d["id"] for d in response.get_json()] == [dispute["id"]]
        assert json.loads(response.headers["X-Pagination"])["total"] == 1
    assert client.get(f"{API}/disputes?state=resolved", headers=auth.headers(student)).get_json() == []
    assert client.get(f"{API}/disputes", headers=auth.headers(UserFactory())).get_json() == []
    assert "state" in assert_error(client.get(f"{API}/disputes?state=won", headers=auth.headers(student)),
                                   422)["errors"]
    assert_error(client.get(f"{API}/disputes?page_size=1000", headers=auth.headers(student)), 422)


# --- responding ------------------------------------------------------------------------------------------------

def test_the_tutor_responds_with_evidence(client, auth, student, tutor, dispute):
    response = respond(client, auth, tutor, dispute["id"])
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["author_id"] == tutor.id and body["evidence"][0]["party"] == "tutor"
    assert client.get(body["evidence"][0]["url"]).data == PNG
    seen = client.get(f"{API}/disputes/{dispute['id']}", headers=auth.headers(student)).get_json()
    assert [r["id"] for r in seen["responses"]] == [body["id"]]
    assert len(seen["evidence"]) == 1  # the student's own; the tutor's is on the response
    assert _kinds(student.id) == ["dispute_opened", "dispute_responded"]


def test_responses_refused(client, auth, student, tutor, dispute):
    assert_error(respond(client, auth, student, dispute["id"]), 403)
    assert_error(respond(client, auth, UserFactory(), dispute["id"]), 404)
    assert_error(respond(client, auth, tutor, 999999), 404)
    assert "body" in assert_error(respond(client, auth, tutor, dispute["id"], body=""), 422)["errors"]
    assert_error(respond(client, auth, tutor, dispute["id"], files=((b"\x00\x01", "x.bin"),)), 415)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DisputeEvidence)) == 1


# --- admins ----------------------------------------------------------------------------------------------------

def test_admin_queue_and_detail(client, auth, admin, student, dispute):
    headers = auth.headers(admin)
    response = client.get(f"{API}/admin/disputes?state=open", headers=headers)
    assert [d["id"] for d in response.get_json()] == [dispute["id"]]
    assert response.get_json()[0]["hold_id"] == _hold(dispute["booking_id"]).id
    assert client.get(f"{API}/admin/disputes?state=resolved", headers=headers).get_json() == []
    assert_error(client.get(f"{API}/admin/disputes?state=nope", headers=headers), 422)
    assert client.get(f"{API}/admin/disputes/{dispute['id']}", headers=headers).get_json()["state"] == "open"
    assert_error(client.get(f"{API}/admin/disputes/999999", headers=headers), 404)
    assert_error(client.get(f"{API}/admin/disputes", headers=auth.headers(student)), 403)
    assert_error(client.get(f"{API}/admin/disputes/{dispute['id']}", headers=auth.headers(student)), 403)


def test_admin_resolves_with_a_split_once(client, auth, admin, student, tutor, dispute):
    url = f"{API}/admin/disputes/{dispute['id']}"
    payload = {"resolution": "split", "percent_to_student": 50, "note": "Ended early."}
    response = client.patch(url, json=payload, headers=auth.headers(admin))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["state"], body["percent_to_student"], body["resolution_note"]) == ("resolved", 50, "Ended early.")
    assert body["settle_transaction_id"] is not None
    assert balances(student.id) == {"wallet": 7000 + 1500}
    assert balances(tutor.id) == {"tutor_payable": 1275}
    assert balances(None)["platform_revenue"] == 225 and balances(None)["escrow"] == 0
    assert_error(client.patch(url, json=payload, headers=auth.headers(admin)), 409, "already resolved")
    assert_error(respond(client, auth, tutor, dispute["id"]), 409)
    settlements = db.session.scalar(sa.select(sa.func.count()).select_from(LedgerTransaction)
                                     .where(LedgerTransaction.kind == "booking_settlement"))
    assert settlements == 1
    assert _hold(dispute["booking_id"]).outcome == "dispute_resolved"
    assert _kinds(student.id) == ["dispute_opened", "dispute_resolved"]
    assert _kinds(tutor.id) == ["dispute_opened", "dispute_resolved"]


@pytest.mark.parametrize(("percent", "student_wallet", "tutor_payable"), [(0, 7000, 2550), (100, 10000, None)])
def test_split_ends(client, auth, admin, student, tutor, dispute, percent, student_wallet, tutor_payable):
    response = client.patch(f"{API}/admin/disputes/{dispute['id']}", headers=auth.headers(admin),
                            json={"resolution": "split", "percent_to_student": percent})
    assert response.status_code == 200, response.get_json()
    assert balances(student.id) == {"wallet": student_wallet}
    assert balances(tutor.id).get("tutor_payable") == tutor_payable


@pytest.mark.parametrize(("payload", "field"), [
    ({"resolution": "split", "percent_to_student": 101}, "percent_to_student"),
    ({"resolution": "split", "percent_to_student": -1}, "percent_to_student"),
    ({"resolution": "split", "percent_to_student": 12.5}, "percent_to_student"),
    ({"resolution": "split"}, "percent_to_student"),
    ({"resolution": "refund", "percent_to_student": 10}, "resolution"),
    ({"resolution": "split", "percent_to_student": 10, "note": "x" * 2001}, "note"),
    ({"resolution": "split", "percent_to_student": 10, "extra": 1}, "extra"),
])
def test_bad_resolutions_are_422_and_move_nothing(client, auth, admin, student, dispute, payload, field):
    body = assert_error(client.patch(f"{API}/admin/disputes/{dispute['id']}", json=payload,
                                     headers=auth.headers(admin)), 422)
    assert field in body["errors"]
    assert balances(student.id) == {"wallet": 7000}
    assert _hold(dispute["booking_id"]).state == "held"


def test_resolution_refused_to_others_and_unknown(client, auth, admin, student, tutor, dispute):
    payload = {"resolution": "split", "percent_to_student": 100}
    for user in (student, tutor):
        assert_error(client.patch(f"{API}/admin/disputes/{dispute['id']}", json=payload,
                                  headers=auth.headers(user)), 403)
    assert_error(client.patch(f"{API}/admin/disputes/999999", json=payload, headers=auth.headers(admin)), 404)
    assert balances(student.id) == {"wallet": 7000}


def test_an_admin_override_settling_the_booking_closes_its_dispute(client, auth, admin, student, tutor, dispute):
    response = client.post(f"{API}/admin/bookings/{dispute['booking_id']}/state", headers=auth.headers(admin),
                           json={"state": "no_show", "no_show_by": "tutor", "note": "Tutor never came."})
    assert response.status_code == 200, response.get_json()
    assert balances(student.id) == {"wallet": 10000}
    seen = client.get(f"{API}/disputes/{dispute['id']}", headers=auth.headers(student)).get_json()
    assert seen["state"] == "closed" and "tutor_no_show" in seen["resolution_note"]
    assert_error(client.patch(f"{API}/admin/disputes/{dispute['id']}", headers=auth.headers(admin),
                              json={"resolution": "split", "percent_to_student": 0}), 409)
    assert "dispute_closed" in _kinds(tutor.id)
