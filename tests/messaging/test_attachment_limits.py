"""Upload bounds: a per-user daily quota and a cap on unsent bytes (429), and the cleanup of stale unsent uploads."""
import os
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.common import storage
from app.common.time import utcnow
from app.common.transactions import unit_of_work
from app.extensions import db
from app.messaging import services
from app.messaging.models import Attachment
from tests.conftest import assert_error
from tests.factories import AttachmentFactory, UserFactory
from tests.messaging.test_attachments import URL, upload

TEXT = b"x" * 100  # 100 bytes of plain text


@pytest.fixture
def limits(app, monkeypatch):
    def set_limits(daily=0, unsent=0):
        monkeypatch.setitem(app.config, "ATTACHMENT_DAILY_QUOTA_BYTES", daily)
        monkeypatch.setitem(app.config, "ATTACHMENT_UNSENT_QUOTA_BYTES", unsent)

    return set_limits


def stored_files(app):
    root = app.config["UPLOAD_DIR"]
    return sorted(os.listdir(root)) if os.path.isdir(root) else []


def test_daily_quota(client, auth, student, limits):
    limits(daily=250)
    headers = auth.headers(student)
    assert upload(client, headers, TEXT).status_code == 201
    assert upload(client, headers, TEXT).status_code == 201
    body = assert_error(upload(client, headers, TEXT), 429, "daily upload quota")
    assert "250 bytes" in body["message"] and body["errors"] == {"file": ["Daily upload quota reached."]}
    assert upload(client, headers, b"y" * 50).status_code == 201  # exactly up to the quota
    assert_error(upload(client, headers, b"z"), 429)
    # Another user has a quota of their own.
    assert upload(client, auth.headers(UserFactory()), TEXT).status_code == 201


def test_daily_quota_counts_the_last_24_hours_sent_or_not(client, auth, pair, student, limits):
    limits(daily=250)
    headers = auth.headers(student)
    AttachmentFactory(uploader_id=student.id, size=1000, created_at=utcnow() - timedelta(hours=25))
    sent = upload(client, headers, TEXT).get_json()
    assert client.post(f"/api/v1/conversations/{pair.id}/messages", json={"attachment_ids": [sent["id"]]},
                       headers=headers).status_code == 201
    assert upload(client, headers, TEXT).status_code == 201
    assert_error(upload(client, headers, TEXT), 429, "daily")


def test_unsent_quota_frees_when_sent(client, auth, pair, student, limits):
    limits(unsent=150)
    headers = auth.headers(student)
    first = upload(client, headers, TEXT).get_json()
    body = assert_error(upload(client, headers, TEXT), 429, "unsent uploads")
    assert body["errors"] == {"file": ["Too many unsent uploads."]}
    assert client.post(f"/api/v1/conversations/{pair.id}/messages", json={"attachment_ids": [first["id"]]},
                       headers=headers).status_code == 201
    assert upload(client, headers, TEXT).status_code == 201


def test_refused_upload_leaves_no_file(app, client, auth, student, limits):
    limits(daily=100)
    headers = auth.headers(student)
    assert upload(client, headers, TEXT).status_code == 201
    assert_error(upload(client, headers, TEXT), 429)
    assert len(stored_files(app)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 1


def test_zero_means_no_limit(client, auth, student, limits):
    limits(daily=0, unsent=0)
    for _ in range(5):
        assert upload(client, auth.headers(student), TEXT).status_code == 201


@pytest.mark.postgres
def test_daily_quota_holds_under_concurrent_uploads(app, auth, student, limits):
    limits(daily=300)
    headers = auth.headers(student)
    barrier = threading.Barrier(10)

    def attempt(_index):
        with app.app_context():
            client = app.test_client()
            barrier.wait()
            try:
                return upload(client, headers, TEXT).status_code
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(attempt, range(10)))
    assert Counter(statuses) == {201: 3, 429: 7}
    total = db.session.scalar(sa.select(sa.func.sum(Attachment.size)).where(Attachment.uploader_id == student.id))
    assert total == 300
    assert len(stored_files(app)) == 3


def _stored(uploader_id, age, message=None):
    """An attachment row with its file on disk, uploaded ``age`` ago."""
    saved = storage.save_bytes(TEXT, "text/plain", prefix="attachment")
    return AttachmentFactory(uploader_id=uploader_id, storage_key=saved.key, content_type="text/plain",
                             size=saved.size, created_at=utcnow() - age, message_id=message)


def test_cleanup_deletes_stale_unsent_uploads_file_and_row(app, client, auth, pair, student, monkeypatch):
    monkeypatch.setitem(app.config, "ATTACHMENT_UNSENT_MAX_AGE_HOURS", 24)
    stale = _stored(student.id, timedelta(hours=25))
    fresh = _stored(student.id, timedelta(hours=23))
    old_but_sent = upload(client, auth.headers(student), TEXT).get_json()
    client.post(f"/api/v1/conversations/{pair.id}/messages", json={"attachment_ids": [old_but_sent["id"]]},
                headers=auth.headers(student))
    db.session.execute(sa.update(Attachment).where(Attachment.id == old_but_sent["id"])
                       .values(created_at=utcnow() - timedelta(days=30)))
    db.session.commit()
    stale_key, fresh_id = stale.storage_key, fresh.id
    assert len(stored_files(app)) == 3

    with unit_of_work():
        assert services.delete_stale_uploads() == 1
    remaining = db.session.scalars(sa.select(Attachment.id).order_by(Attachment.id)).all()
    assert remaining == sorted([fresh_id, old_but_sent["id"]])
    assert stale_key not in stored_files(app) and len(stored_files(app)) == 2
    assert client.get(old_but_sent["url"]).status_code == 200
    with unit_of_work():  # idempotent
        assert services.delete_stale_uploads() == 0


def test_cleanup_removes_a_row_whose_file_is_already_gone(app, student):
    stale = _stored(student.id, timedelta(days=2))
    storage.delete(stale.storage_key)
    with unit_of_work():
        assert services.delete_stale_uploads() == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 0


def test_cleanup_job_is_periodic_and_commits(app, student):
    from jobs import tasks
    from jobs.schedule import PERIODIC_JOBS

    assert tasks.delete_stale_uploads in [job for job, _interval, _queue in PERIODIC_JOBS]
    _stored(student.id, timedelta(days=2))
    assert tasks.delete_stale_uploads() == 1
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 0
    assert tasks.delete_stale_uploads() == 0


def test_an_upload_past_its_age_cannot_be_sent_once_cleaned(client, auth, pair, student):
    stale_id = _stored(student.id, timedelta(days=2)).id
    with unit_of_work():
        services.delete_stale_uploads()
    assert_error(client.post(f"/api/v1/conversations/{pair.id}/messages", json={"attachment_ids": [stale_id]},
                             headers=auth.headers(student)), 404)
    assert_error(client.get(f"{URL}/{stale_id}", headers=auth.headers(student)), 404)
