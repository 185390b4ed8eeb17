"""Calendar sync, provider-agnostic: sessions pushed out, busy time pulled in, push channels kept alive.

Each function works on one connection inside the caller's unit of work (jobs call them) and returns an
``Outcome``. The provider's errors become connection states here: ``GrantRevoked`` → broken (the user is emailed
once with a reconnect link), ``RateLimited`` → ``backoff_until`` (nothing calls the provider for this connection
before it; the job runs again then). ``ProviderError`` propagates, so the job's unit rolls back and RQ retries
it with backoff. Calendars never write scheduling's tables: busy time goes through
``scheduling.sync_external_busy``.
"""
import logging
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from app.calendars import providers
from app.calendars.connections import channel_of, open_grant, open_tokens, seal_tokens
from app.calendars.models import CalendarConnection, CalendarPushedEvent
from app.calendars.providers.base import (
    Channel,
    EventSpec,
    GrantRevoked,
    ProviderError,
    RateLimited,
    SyncTokenExpired,
)
from app.common import crypto
from app.common import time as clock
from app.common.errors import NotFound
from app.common.security import keyed_digest, random_token
from app.extensions import db
from app.messaging import services as messaging
from app.notifications import services as notifications
from app.scheduling import services as scheduling
from app.users import services as users

log = logging.getLogger(__name__)

SHOWN_STATES = ("confirmed", "in_progress")  # a pushed event exists for these
GONE_STATES = ("cancelled", "rejected", "expired")  # its event is deleted
REFRESH_MARGIN = timedelta(seconds=60)
PULL_HISTORY = timedelta(days=1)


@dataclass
class Outcome:
    status: str  # pushed, deleted, pulled, renewed, skipped, broken, backoff, polling
    retry_at: object = None  # backoff: when to run again
    detail: object = None


# --- connection state ---------------------------------------------------------------------------------------

def _load(connection_id, now):
    """The connection, locked on PostgreSQL (one sync at a time per connection), or an Outcome saying why not."""
    stmt = sa.select(CalendarConnection).where(CalendarConnection.id == connection_id)
    if db.engine.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    connection = db.session.scalar(stmt)
    if connection is None or connection.provider not in providers.names():
        return None, Outcome("skipped")
    if connection.status != "active":
        return None, Outcome("broken")
    if connection.backoff_until and connection.backoff_until > now:
        return None, Outcome("backoff", retry_at=connection.backoff_until)
    return connection, None


def _with_provider(connection, now, call):
    """Run ``call(provider, tokens)`` with fresh tokens (refreshed when about to expire, stored when changed);
    a revoked grant breaks the connection, a rate limit backs it off. Returns (result, None) or (None, Outcome)."""
    provider = providers.get(connection.provider)
    tokens = open_tokens(connection)
    before = (tokens.access_token, tokens.refresh_token)
    try:
        if tokens.expires_at and tokens.expires_at <= now + REFRESH_MARGIN:
            tokens = provider.refresh(tokens)
        result = call(provider, tokens)
    except GrantRevoked as failure:
        mark_broken(connection, str(failure) or "The calendar grant was revoked.", now)
        return None, Outcome("broken", detail=str(failure))
    except RateLimited as failure:
        connection.backoff_until = now + timedelta(seconds=max(int(failure.retry_after), 1))
        return None, Outcome("backoff", retry_at=connection.backoff_until, detail=str(failure))
    finally:
        if (tokens.access_token, tokens.refresh_token) != before:
            connection.tokens_encrypted = seal_tokens(tokens)
    connection.backoff_until = None
    return result, None


def mark_broken(connection, reason, now=None):
    """Status broken with the reason; the user is emailed once (until they reconnect) with a reconnect link."""
    now = now or clock.utcnow()
    connection.status, connection.broken_reason = "broken", reason[:500]
    connection.channel_id = connection.channel_resource_id = connection.channel_token_digest = None
    connection.channel_expires_at = connection.next_renewal_at = None
    if connection.broken_notified_at is None:
        user = users.get_user(connection.user_id)
        name = connection.provider.capitalize()
        link = f"{current_app.config['FRONTEND_URL']}/settings/calendars?reconnect={connection.provider}"
        body = (f"Tutorhub can no longer reach your {name} Calendar ({reason}).\n"
                f"Your sessions are not added to it and your busy time there is not read until you reconnect:\n"
                f"{link}")
        notifications.queue_email(user.email, f"Tutorhub: reconnect your {name} Calendar", body, user_id=user.id,
                                  kind="calendar_broken", dedupe_key=f"calendar-broken:{connection.id}:{now.isoformat()}")
        connection.broken_notified_at = now
    log.warning("Calendar connection %s broken: %s", connection.id, reason)


# --- push sessions out ----------------------------------------------------------------------------------------

def booking_key(booking_id):
    """The stable key of a booking's event (Google's derived event id, Graph's transactionId and key property)."""
    return f"booking-{booking_id}"


def event_spec(booking, user_id):
    """What the user's calendar shows for a booking: title, times, both participants, a link back, the chat."""
    other = booking.student if user_id == booking.tutor_id else booking.tutor
    frontend = current_app.config["FRONTEND_URL"]
    conversation_id = messaging.pair_conversation_id(booking.tutor_id, booking.student_id)
    chat = f"{frontend}/messages/{conversation_id}" if conversation_id else f"{frontend}/messages"
    subject = scheduling.subject_name(booking.subject)
    lines = [f"Tutoring session: {subject}, {booking.duration_minutes} minutes, with {other.full_name}."]
    if booking.note:
        lines.append(f"Note: {booking.note}")
    lines.append(f"Chat: {chat}")
    return EventSpec(key=booking_key(booking.id), title=f"Tutorhub: {subject} with {other.full_name}",
                     start=booking.start_at, end=booking.end_at, description="\n".join(lines),
                     attendees=[booking.tutor.email, booking.student.email],
                     participants=[f"{booking.tutor.full_name} (tutor)", f"{booking.student.full_name} (student)"],
                     link=f"{frontend}/bookings/{booking.id}")


def push_booking(connection_id, booking_id, now=None):
    """Make the connection's calendar match the booking: an event while it is confirmed (created, or updated to
    the current time), none once it is cancelled. Idempotent: a rerun updates the same event."""
    now = now or clock.utcnow()
    connection, outcome = _load(connection_id, now)
    if outcome:
        return outcome
    try:
        booking = scheduling.get_booking(users.get_user(connection.user_id), booking_id)
    except NotFound:
        return Outcome("skipped")
    if connection.user_id not in booking.participant_ids():  # an admin sees every booking; only theirs go out
        return Outcome("skipped")
    mapping = db.session.scalar(sa.select(CalendarPushedEvent).where(
        CalendarPushedEvent.connection_id == connection.id, CalendarPushedEvent.booking_id == booking_id))
    if booking.state in SHOWN_STATES:
        spec = event_spec(booking, connection.user_id)
        known = mapping.external_id if mapping else None
        external_id, outcome = _with_provider(connection, now, lambda p, t: p.upsert_event(t, spec, known))
        if outcome:
            return outcome
        if mapping is None:
            mapping = CalendarPushedEvent(connection_id=connection.id, booking_id=booking_id, external_id=external_id)
            db.session.add(mapping)
        mapping.external_id, mapping.updated_at = external_id, now
        return Outcome("pushed", detail=external_id)
    if booking.state in GONE_STATES and (mapping is not None or booking.confirmed_at is not None):
        return _delete_pushed(connection, booking, mapping, now)
    return Outcome("skipped")


def _delete_pushed(connection, booking, mapping, now):
    """Delete the booking's event. Without a mapping (a booking once confirmed) the push may have created the
    event and crashed before recording its id: the provider finds it by the booking's key (Google derives the id,
    and a 404/410 there is fine; Graph looks it up)."""
    key = booking_key(booking.id)

    def delete(provider, tokens):
        external_id = mapping.external_id if mapping else provider.find_event(tokens, key)
        if external_id is not None:
            provider.delete_event(tokens, external_id)
        return external_id

    external_id, outcome = _with_provider(connection, now, delete)
    if outcome:
        return outcome
    if mapping is not None:
        db.session.delete(mapping)
    return Outcome("deleted" if external_id else "skipped")


def clean_up_disconnected(provider_name, grant, event_ids, channel_id=None, channel_resource_id=None, now=None):
    """After a disconnect (the connection is gone; ``grant`` is its sealed tokens): stop its push channel and delete
    the events Tutorhub pushed (already gone is fine). Best effort: a revoked or unreadable grant leaves the events
    (Outcome ``broken``); a rate limit answers ``backoff`` with the ids still to delete in ``detail``;
    ``ProviderError`` propagates so RQ retries (a rerun deletes the same ids: idempotent)."""
    now = now or clock.utcnow()
    if provider_name not in providers.names():
        return Outcome("skipped")
    provider = providers.get(provider_name)
    try:
        tokens = open_grant(grant)
    except crypto.Undecryptable:
        log.warning("Disconnected %s calendar: grant unreadable, %d pushed events left", provider_name,
                    len(event_ids))
        return Outcome("broken", detail="unreadable grant")
    remaining = list(event_ids)
    try:
        if tokens.expires_at and tokens.expires_at <= now + REFRESH_MARGIN:
            tokens = provider.refresh(tokens)
        if channel_id:
            try:
                provider.stop(tokens, Channel(channel_id=channel_id, resource_id=channel_resource_id,
                                              expires_at=now, token=""))
            except GrantRevoked:
                raise
            except (ProviderError, NotImplementedError) as failure:  # it expires by itself
                log.warning("Disconnected %s calendar: could not stop channel %s: %s", provider_name, channel_id,
                            failure)
        while remaining:
            provider.delete_event(tokens, remaining[0])
            remaining.pop(0)
    except GrantRevoked as failure:
        log.warning("Disconnected %s calendar: grant revoked (%s), %d pushed events left in it", provider_name,
                    failure, len(remaining))
        return Outcome("broken", detail=str(failure))
    except RateLimited as failure:
        return Outcome("backoff", retry_at=now + timedelta(seconds=max(int(failure.retry_after), 1)),
                       detail=remaining)
    return Outcome("deleted", detail=len(event_ids))


def connection_ids_for(user_ids):
    """Active connections of these users, by id (the booking subscribers push to each)."""
    return db.session.scalars(sa.select(CalendarConnection.id).where(
        CalendarConnection.user_id.in_(list(user_ids)), CalendarConnection.status == "active",
        CalendarConnection.provider.in_(providers.names())).order_by(CalendarConnection.id)).all()


# --- pull busy time in ----------------------------------------------------------------------------------------

def pull_busy(connection_id, now=None):
    """Read the calendar's busy time into scheduling's busy blocks: incremental from the stored cursor, in full
    (the sync window) the first time or when the cursor expired. Events Tutorhub pushed are never busy time."""
    now = now or clock.utcnow()
    connection, outcome = _load(connection_id, now)
    if outcome:
        return outcome
    window = (now - PULL_HISTORY, now + timedelta(days=current_app.config["CALENDAR_SYNC_DAYS"]))

    def read(provider, tokens):
        if connection.sync_cursor:
            try:
                return provider.busy_changes(tokens, connection.sync_cursor, *window), False
            except SyncTokenExpired:
                log.info("Calendar connection %s: cursor expired, full resync", connection.id)
        return provider.busy_changes(tokens, None, *window), True

    result, outcome = _with_provider(connection, now, read)
    if outcome:
        return outcome
    (changes, cursor), full = result
    items = [{"external_id": change.external_id, "start": change.start, "end": change.end,
              "removed": change.removed or change.ours} for change in changes]
    upserted, deleted = scheduling.sync_external_busy(connection.user_id, connection.provider, items, full=full)
    connection.sync_cursor, connection.last_synced_at = cursor, now
    return Outcome("pulled", detail={"changes": len(changes), "upserted": upserted, "deleted": deleted,
                                     "full": full})


# --- push channels, renewal and polling -------------------------------------------------------------------------

def push_possible():
    """A base URL the providers can post to: https, or plain http where CALENDAR_WEBHOOK_ALLOW_HTTP (development's
    local simulator)."""
    base = current_app.config.get("CALENDAR_WEBHOOK_BASE_URL") or ""
    schemes = ("https://", "http://") if current_app.config.get("CALENDAR_WEBHOOK_ALLOW_HTTP") else ("https://",)
    return base.startswith(schemes)


def notification_url(provider_name):
    return f"{current_app.config['CALENDAR_WEBHOOK_BASE_URL'].rstrip('/')}/api/v1/calendar/notifications/{provider_name}"


def renew_channel(connection_id, now=None):
    """Open a new push channel (the old one is stopped once the new one works); without a public https base URL,
    or when the provider cannot push, the connection is polled instead."""
    now = now or clock.utcnow()
    connection, outcome = _load(connection_id, now)
    if outcome:
        return outcome
    if not push_possible():
        return Outcome("polling")
    token = random_token(32)
    old = channel_of(connection) if connection.channel_id else None

    def open_channel(provider, tokens):
        try:
            channel = provider.watch(tokens, notification_url(connection.provider), token)
        except NotImplementedError:
            return None
        if old is not None:
            try:
                provider.stop(tokens, old)
            except (ProviderError, NotImplementedError) as failure:  # it expires by itself
                log.warning("Could not stop old channel of calendar connection %s: %s", connection.id, failure)
        return channel

    channel, outcome = _with_provider(connection, now, open_channel)
    if outcome:
        return outcome
    if channel is None:
        return Outcome("polling")
    lead = timedelta(hours=current_app.config["CALENDAR_RENEW_BEFORE_HOURS"])
    connection.channel_id, connection.channel_resource_id = channel.channel_id, channel.resource_id
    connection.channel_token_digest, connection.channel_expires_at = keyed_digest(token), channel.expires_at
    connection.next_renewal_at = max(channel.expires_at - lead, now + (channel.expires_at - now) / 2)
    return Outcome("renewed", detail=channel.channel_id)


def channels_due(now=None):
    """Active connections whose channel must be (re)opened: none yet, or its renewal time has come."""
    if not push_possible():
        return []
    now = now or clock.utcnow()
    return db.session.scalars(sa.select(CalendarConnection.id).where(
        CalendarConnection.status == "active", CalendarConnection.provider.in_(providers.names()),
        sa.or_(CalendarConnection.backoff_until.is_(None), CalendarConnection.backoff_until <= now),
        sa.or_(CalendarConnection.channel_id.is_(None), CalendarConnection.next_renewal_at <= now))
        .order_by(CalendarConnection.id)).all()


def connections_due_for_poll(now=None):
    """Active connections without a live push channel whose last pull is older than CALENDAR_POLL_MINUTES."""
    now = now or clock.utcnow()
    stale = now - timedelta(minutes=current_app.config["CALENDAR_POLL_MINUTES"])
    return db.session.scalars(sa.select(CalendarConnection.id).where(
        CalendarConnection.status == "active", CalendarConnection.provider.in_(providers.names()),
        sa.or_(CalendarConnection.backoff_until.is_(None), CalendarConnection.backoff_until <= now),
        sa.or_(CalendarConnection.channel_id.is_(None), CalendarConnection.channel_expires_at <= now),
        sa.or_(CalendarConnection.last_synced_at.is_(None), CalendarConnection.last_synced_at <= stale))
        .order_by(CalendarConnection.id)).all()
