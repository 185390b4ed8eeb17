"""Google sync through the real googleapiclient code (HttpMockSequence, static discovery), jobs run by an RQ
SimpleWorker: sessions pushed out (insert, patch, delete; a retried job makes no second event), busy time pulled in
(sync tokens, 410 → full resync, our own events skipped), push channels, notifications, broken grants, rate limits."""
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.calendars.models import CalendarConnection, CalendarPushedEvent
from app.calendars.providers.google import event_id
from app.common.time import utcnow
from app.common.transactions import unit_of_work
from app.notifications.models import OutboxMessage
from app.scheduling import services as scheduling
from app.scheduling.models import BusyBlock
from jobs import tasks
from tests.calendars.conftest import make_connection
from tests.conftest import assert_error
from tests.factories import BookingFactory, TutorFactory, UserFactory
from tests.scheduling.conftest import iso, make_tutor

EVENTS = "/calendar/v3/calendars/primary/events"


def event(event_id_, start, end, **extra):
    return {"id": event_id_, "status": "confirmed", "start": {"dateTime": iso(start)}, "end": {"dateTime": iso(end)},
            **extra}


def blocks(db, user_id):
    db.session.expire_all()
    return sorted((b.external_id, b.start_at, b.end_at) for b in db.session.scalars(
        sa.select(BusyBlock).where(BusyBlock.user_id == user_id, BusyBlock.source == "google")))


# --- push sessions out ------------------------------------------------------------------------------------------

def test_booking_is_inserted_moved_and_deleted(client, auth, db, google, google_api, worker):
    tutor, student = TutorFactory(), UserFactory()
    connection = make_connection(student)
    start = (utcnow() + timedelta(days=3)).replace(microsecond=0)
    booking = BookingFactory(tutor=tutor, student=student, start_at=start, state="requested")
    key_id = event_id(f"booking-{booking.id}")
    http = google_api((200, {"id": key_id}), (200, {"id": key_id}), (204, ""))

    assert client.post(f"/api/v1/bookings/{booking.id}/accept", headers=auth.headers(tutor)).status_code == 200
    worker()
    moved = start + timedelta(hours=2)
    response = client.post(f"/api/v1/admin/bookings/{booking.id}/reschedule", json={"start": iso(moved)},
                           headers=auth.headers(UserFactory(roles=["admin"])))
    assert response.status_code == 200, response.get_json()
    worker()
    assert client.post(f"/api/v1/bookings/{booking.id}/cancel", json={"reason": "Trip"},
                       headers=auth.headers(tutor)).status_code == 200
    worker()

    assert [(m, p) for m, p, _q in http.calls()] == [
        ("POST", EVENTS), ("PATCH", f"{EVENTS}/{key_id}"), ("DELETE", f"{EVENTS}/{key_id}")]
    assert all(q["sendUpdates"] == "none" for _m, _p, q in http.calls())
    inserted, patched = http.requests[0]["body"], http.requests[1]["body"]
    assert inserted["id"] == key_id and set(key_id) <= set("0123456789abcdefghijklmnopqrstuv")
    assert inserted["summary"] == f"Tutorhub: Calculus with {tutor.full_name}"
    assert inserted["start"]["dateTime"] == iso(start) and inserted["end"]["dateTime"] == iso(start + timedelta(hours=1))
    assert [a["email"] for a in inserted["attendees"]] == [tutor.email, student.email]
    assert inserted["source"]["url"] == f"http://localhost:3000/bookings/{booking.id}"
    assert "Chat: http://localhost:3000/messages/" in inserted["description"]
    assert inserted["extendedProperties"]["private"]["tutorhub"] == "1"
    assert patched["start"]["dateTime"] == iso(moved)
    assert http.requests[0]["headers"]["authorization"] == "Bearer access-0"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarPushedEvent)) == 0
    assert db.session.get(CalendarConnection, connection.id).status == "active"


def test_retried_job_makes_no_second_event(client, auth, db, google, google_api, worker):
    """The insert reached Google but the answer was a 503: RQ retries, the same client-chosen id answers 409,
    and the job patches that event: one event, one mapping."""
    tutor, student = TutorFactory(), UserFactory()
    make_connection(tutor)
    booking = BookingFactory(tutor=tutor, student=student, state="requested")
    key_id = event_id(f"booking-{booking.id}")
    http = google_api((503, {"error": {"code": 503, "message": "Backend Error"}}),
                      (409, {"error": {"code": 409, "errors": [{"reason": "duplicate"}]}}),
                      (200, {"id": key_id}))
    assert client.post(f"/api/v1/bookings/{booking.id}/accept", headers=auth.headers(tutor)).status_code == 200
    worker()
    assert [(m, p) for m, p, _q in http.calls()] == [("POST", EVENTS), ("POST", EVENTS), ("PATCH", f"{EVENTS}/{key_id}")]
    assert http.requests[0]["body"]["id"] == http.requests[1]["body"]["id"] == key_id
    [mapping] = db.session.scalars(sa.select(CalendarPushedEvent)).all()
    assert (mapping.booking_id, mapping.external_id) == (booking.id, key_id)

    # Running the job again (a duplicate delivery) patches the same event.
    google_api((200, {"id": key_id}))
    assert tasks.push_booking_to_calendar(mapping.connection_id, booking.id) == "pushed"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarPushedEvent)) == 1


# --- pull busy time in --------------------------------------------------------------------------------------------

def test_pull_full_then_incremental_then_410_resync(db, google, google_api):
    user = UserFactory()
    connection = make_connection(user)
    now = utcnow().replace(microsecond=0)
    busy = event("busy1", now + timedelta(hours=5), now + timedelta(hours=6))
    ours = event("ours1", now + timedelta(hours=7), now + timedelta(hours=8),
                 extendedProperties={"private": {"tutorhub": "1"}})
    free = event("free1", now + timedelta(hours=9), now + timedelta(hours=10), transparency="transparent")
    declined = event("decl1", now + timedelta(hours=11), now + timedelta(hours=12),
                     attendees=[{"self": True, "responseStatus": "declined"}])
    later = event("busy2", now + timedelta(days=2), now + timedelta(days=2, hours=1))
    http = google_api(
        (200, {"items": [busy, ours, free], "nextPageToken": "page-2"}),
        (200, {"items": [declined, later], "nextSyncToken": "sync-1"}),
        (200, {"items": [{"id": "busy1", "status": "cancelled"},
                         event("busy2", now + timedelta(days=3), now + timedelta(days=3, hours=2))],
               "nextSyncToken": "sync-2"}),
        (410, {"error": {"code": 410, "errors": [{"reason": "fullSyncRequired"}]}}),
        (200, {"items": [event("new1", now + timedelta(hours=1), now + timedelta(hours=2))],
               "nextSyncToken": "sync-3"}))

    assert tasks.pull_calendar(connection.id) == "pulled"
    assert blocks(db, user.id) == [("busy1", now + timedelta(hours=5), now + timedelta(hours=6)),
                                   ("busy2", now + timedelta(days=2), now + timedelta(days=2, hours=1))]
    assert tasks.pull_calendar(connection.id) == "pulled"
    assert blocks(db, user.id) == [("busy2", now + timedelta(days=3), now + timedelta(days=3, hours=2))]
    db.session.add(BusyBlock(user_id=user.id, source="manual", start_at=now + timedelta(hours=3),
                             end_at=now + timedelta(hours=4)))
    db.session.commit()
    assert tasks.pull_calendar(connection.id) == "pulled"  # 410, then the full window again
    assert blocks(db, user.id) == [("new1", now + timedelta(hours=1), now + timedelta(hours=2))]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BusyBlock)) == 2  # the manual one stays

    calls = http.calls()
    assert [(m, p) for m, p, _q in calls] == [("GET", EVENTS)] * 5
    first, second, incremental, expired, full = (q for _m, _p, q in calls)
    assert "timeMin" in first and "timeMax" in first and "syncToken" not in first and first["singleEvents"] == "true"
    assert second["pageToken"] == "page-2" and second["timeMin"] == first["timeMin"]
    assert incremental["syncToken"] == "sync-1" and "timeMin" not in incremental
    assert expired["syncToken"] == "sync-2"
    assert "syncToken" not in full and "timeMin" in full
    db.session.expire_all()
    row = db.session.get(CalendarConnection, connection.id)
    assert row.sync_cursor == "sync-3" and row.last_synced_at is not None


def test_pulled_busy_time_removes_a_slot(db, google, google_api, freeze):
    now = freeze(utcnow().replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1))
    tutor = make_tutor(zone="UTC", weekdays=range(7), start="09:00", end="12:00", min_notice_minutes=0)
    connection = make_connection(tutor)
    day = now + timedelta(days=2)
    before = {slot["start"] for slot in scheduling.get_slots(tutor.id, day, day + timedelta(days=1), 60)["slots"]}
    assert day + timedelta(hours=10) in before
    google_api((200, {"items": [event("dentist", day + timedelta(hours=10), day + timedelta(hours=11))],
                      "nextSyncToken": "s"}))
    assert tasks.pull_calendar(connection.id) == "pulled"
    after = {slot["start"] for slot in scheduling.get_slots(tutor.id, day, day + timedelta(days=1), 60)["slots"]}
    assert day + timedelta(hours=10) not in after and day + timedelta(hours=9) in after


# --- push channels, notifications, polling ------------------------------------------------------------------------

@pytest.fixture
def webhook_base(app, monkeypatch):
    monkeypatch.setitem(app.config, "CALENDAR_WEBHOOK_BASE_URL", "https://tutorhub.example.com")


def test_channel_opened_renewed_and_notifications_checked(client, db, google, google_api, webhook_base, worker):
    user = UserFactory()
    connection = make_connection(user, last_synced_at=utcnow())
    expiry_ms = int((utcnow() + timedelta(days=7)).timestamp() * 1000)
    http = google_api((200, {"kind": "api#channel", "id": "ignored", "resourceId": "res-1",
                             "expiration": str(expiry_ms)}))
    assert tasks.renew_calendar_channels() == 1
    [(method, path, _q)] = http.calls()
    assert (method, path) == ("POST", f"{EVENTS}/watch")
    watch = http.requests[0]["body"]
    assert watch["type"] == "web_hook"
    assert watch["address"] == "https://tutorhub.example.com/api/v1/calendar/notifications/google"
    db.session.expire_all()
    row = db.session.get(CalendarConnection, connection.id)
    assert row.channel_id == "ignored" and row.channel_resource_id == "res-1"
    assert row.channel_token_digest and watch["token"] not in row.channel_token_digest
    assert row.next_renewal_at < row.channel_expires_at
    assert tasks.renew_calendar_channels() == 0  # not due yet
    assert tasks.poll_calendars() == 0  # pushed, so not polled

    url = "/api/v1/calendar/notifications/google"
    headers = {"X-Goog-Channel-ID": row.channel_id, "X-Goog-Channel-Token": watch["token"],
               "X-Goog-Resource-ID": "res-1", "X-Goog-Resource-State": "exists", "X-Goog-Message-Number": "2"}
    assert_error(client.post(url, headers={**headers, "X-Goog-Channel-Token": "wrong"}), 403)
    assert_error(client.post(url, headers={**headers, "X-Goog-Channel-ID": "unknown"}), 404)
    assert_error(client.post(url, headers={**headers, "X-Goog-Resource-ID": "other"}), 403)
    assert_error(client.post(url, headers={"X-Goog-Channel-ID": row.channel_id}), 422)
    assert worker.queues["default"].count == 0  # nothing done for any of them
    assert client.post(url, headers={**headers, "X-Goog-Resource-State": "sync"}).status_code == 204
    assert worker.queues["default"].count == 0
    assert client.post(url, headers=headers).status_code == 204
    assert [job.func_name for job in worker.queues["default"].get_jobs()] == ["jobs.tasks.pull_calendar"]
    google_api((200, {"items": [], "nextSyncToken": "s1"}))
    worker()
    assert db.session.get(CalendarConnection, connection.id).sync_cursor == "s1"

    # Near expiry: a new channel, then the old one stopped.
    row = db.session.get(CalendarConnection, connection.id)
    row.next_renewal_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    http = google_api((200, {"id": "chan-2", "resourceId": "res-2", "expiration": str(expiry_ms)}), (204, ""))
    assert tasks.renew_calendar_channels() == 1
    assert [(m, p) for m, p, _q in http.calls()] == [("POST", f"{EVENTS}/watch"), ("POST", "/calendar/v3/channels/stop")]
    assert http.requests[1]["body"] == {"id": "ignored", "resourceId": "res-1"}
    db.session.expire_all()
    assert db.session.get(CalendarConnection, connection.id).channel_id == "chan-2"


def test_polling_without_public_https_url(db, google, google_api, worker, app, monkeypatch):
    monkeypatch.setitem(app.config, "CALENDAR_WEBHOOK_BASE_URL", "http://localhost:5111")
    stale = make_connection(UserFactory(), last_synced_at=utcnow() - timedelta(minutes=20))
    make_connection(UserFactory(), last_synced_at=utcnow() - timedelta(minutes=5))
    never = make_connection(UserFactory())
    make_connection(UserFactory(), status="broken", broken_reason="revoked")
    http = google_api()
    assert tasks.renew_calendar_channels() == 0 and http.requests == []  # no push without a public https URL
    assert tasks.poll_calendars() == 2
    assert sorted(job.args[0] for job in worker.queues["low"].get_jobs()) == [stale.id, never.id]


def test_graph_notifications_handshake_and_client_state(client, db, worker):
    url = "/api/v1/calendar/notifications/outlook"
    response = client.post(url, query_string={"validationToken": "Validation: token 123"},
                           headers={"Content-Type": "text/plain"})
    assert response.status_code == 200 and response.mimetype == "text/plain"
    assert response.get_data(as_text=True) == "Validation: token 123"
    from app.common.security import keyed_digest

    connection = make_connection(UserFactory(), provider="outlook", channel_id="sub-1",
                                 channel_token_digest=keyed_digest("client-state"))
    item = {"subscriptionId": "sub-1", "clientState": "client-state", "changeType": "updated",
            "resource": "me/events/AAA"}
    assert_error(client.post(url, json={"value": [item, {**item, "clientState": "forged"}]}), 403)
    assert_error(client.post(url, json={"value": [{**item, "subscriptionId": "nope"}]}), 404)
    assert worker.queues["default"].count == 0
    assert client.post(url, json={"value": [item, item]}).status_code == 202
    assert [job.args for job in worker.queues["default"].get_jobs()] == [(connection.id,)]


# --- failures --------------------------------------------------------------------------------------------------

def test_revoked_grant_breaks_connection_and_emails_once(client, auth, db, google, google_api, outbox_dir):
    user = UserFactory()
    connection = make_connection(user, expires_in=timedelta(seconds=-5))  # expired: refreshed first
    google.revoked = True
    http = google_api()
    assert tasks.pull_calendar(connection.id) == "broken"
    assert tasks.pull_calendar(connection.id) == "broken"  # stays broken, no second email
    assert http.requests == [] and [r["grant_type"] for r in google.requests] == ["refresh_token"]
    [mail] = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == "calendar_broken")).all()
    assert mail.recipient == user.email and "/settings/calendars?reconnect=google" in mail.body_text
    [listed] = client.get("/api/v1/calendar/connections", headers=auth.headers(user)).get_json()
    assert listed["status"] == "broken" and "invalid_grant" in listed["broken_reason"]


def test_expired_token_is_refreshed_and_stored(db, google, google_api):
    from app.calendars.connections import open_tokens

    connection = make_connection(UserFactory(), expires_in=timedelta(seconds=10))
    http = google_api((200, {"items": [], "nextSyncToken": "s"}))
    assert tasks.pull_calendar(connection.id) == "pulled"
    assert http.requests[0]["headers"]["authorization"] == "Bearer access-1"
    db.session.expire_all()
    tokens = open_tokens(db.session.get(CalendarConnection, connection.id))
    assert (tokens.access_token, tokens.refresh_token) == ("access-1", "refresh-0")


def test_rate_limit_backs_the_connection_off(db, google, google_api, worker):
    tutor = TutorFactory()
    connection = make_connection(tutor)
    http = google_api((403, {"error": {"code": 403, "errors": [{"domain": "usageLimits",
                                                                 "reason": "rateLimitExceeded"}]}},
                       {"retry-after": "120"}))
    assert tasks.pull_calendar(connection.id) == "backoff"
    db.session.expire_all()
    row = db.session.get(CalendarConnection, connection.id)
    assert timedelta(seconds=100) < row.backoff_until - utcnow() <= timedelta(seconds=120)
    assert row.status == "active"
    # While backing off nothing reaches Google; a push job is put back for when the backoff ends.
    booking = BookingFactory(tutor=tutor)
    google_api()
    assert tasks.pull_calendar(connection.id) == "backoff"
    worker.queues["default"].enqueue("jobs.tasks.push_booking_to_calendar", connection.id, booking.id)
    worker()
    assert len(http.requests) == 1
    assert worker.queues["default"].scheduled_job_registry.get_job_ids()
    assert tasks.poll_calendars() == 0


def test_subscriber_pushes_to_each_connected_participant(db, google, worker):
    tutor, student = TutorFactory(), UserFactory()
    tutor_connection, student_connection = make_connection(tutor), make_connection(student)
    make_connection(UserFactory())
    booking = BookingFactory(tutor=tutor, student=student, state="requested")
    from app.scheduling import services as bookings

    with unit_of_work():
        bookings.accept(tutor, booking.id)
    jobs = [job for job in worker.queues["default"].get_jobs() if job.func_name.endswith("_calendar")]
    assert sorted(job.args for job in jobs) == sorted([(tutor_connection.id, booking.id),
                                                       (student_connection.id, booking.id)])
    assert all(job.func_name == "jobs.tasks.push_booking_to_calendar" and job.retries_left == 3 for job in jobs)


# --- an event id never recorded (the job crashed right after the insert) ------------------------------------------

def test_a_cancelled_booking_whose_event_id_was_not_recorded_is_deleted_by_its_derived_id(client, auth, db, google,
                                                                                         google_api):
    tutor, student = TutorFactory(), UserFactory()
    make_connection(student)
    booking = BookingFactory(tutor=tutor, student=student)  # confirmed and pushed; the mapping was never written
    key_id = event_id(f"booking-{booking.id}")
    http = google_api((204, ""))
    assert client.post(f"/api/v1/bookings/{booking.id}/cancel", json={"reason": "Trip"},
                       headers=auth.headers(tutor)).status_code == 200
    assert http.calls() == [("DELETE", f"{EVENTS}/{key_id}", {"sendUpdates": "none"})]


@pytest.mark.parametrize("status", [404, 410])
def test_an_unrecorded_event_already_gone_counts_as_deleted(db, google, google_api, status):
    student = UserFactory()
    connection = make_connection(student)
    booking = BookingFactory(student=student, state="cancelled")
    http = google_api((status, {"error": {"code": status, "message": "Not Found"}}))
    assert tasks.push_booking_to_calendar(connection.id, booking.id) == "deleted"
    assert http.calls() == [("DELETE", f"{EVENTS}/{event_id(f'booking-{booking.id}')}", {"sendUpdates": "none"})]


def test_a_booking_cancelled_before_it_was_confirmed_calls_nothing(db, google, google_api):
    student = UserFactory()
    connection = make_connection(student)
    booking = BookingFactory(student=student, state="cancelled", confirmed_at=None)  # a request never accepted
    http = google_api()
    assert tasks.push_booking_to_calendar(connection.id, booking.id) == "skipped"
    assert http.requests == []


def test_a_rescheduled_booking_whose_event_id_was_not_recorded_patches_the_derived_id(db, google, google_api):
    student = UserFactory()
    connection = make_connection(student)
    booking = BookingFactory(student=student)
    key_id = event_id(f"booking-{booking.id}")
    http = google_api((409, {"error": {"code": 409, "errors": [{"reason": "duplicate"}]}}), (200, {"id": key_id}))
    assert tasks.push_booking_to_calendar(connection.id, booking.id) == "pushed"
    assert [(m, p) for m, p, _q in http.calls()] == [("POST", EVENTS), ("PATCH", f"{EVENTS}/{key_id}")]
    assert http.requests[1]["body"]["start"]["dateTime"] == iso(booking.start_at)
    [mapping] = db.session.scalars(sa.select(CalendarPushedEvent)).all()
    assert mapping.external_id == key_id
