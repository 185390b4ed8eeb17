"""Calendar connections: the OAuth dance (one-time state bound to the user, PKCE), the stored grant (encrypted
with ``app.common.crypto``), listing, disconnecting, and the push notifications that ask for a pull.

Provider-agnostic: every provider call goes through ``app.calendars.providers`` (the interface of ``base``).
The caller's unit of work commits; follow-up work leaves as events (``calendar.connected``,
``calendar.disconnected``, ``calendar.sync_requested``) that calendars' subscribers turn into RQ jobs.
"""
import hmac
import json
import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from app.calendars import providers
from app.calendars.models import CalendarConnection, CalendarOAuthState, CalendarPushedEvent
from app.calendars.providers.base import Channel, ProviderError, Tokens
from app.common import crypto
from app.common import time as clock
from app.common.errors import Forbidden, Invalid, NotFound, ServiceUnavailable
from app.common.events import publish
from app.common.security import keyed_digest, random_token
from app.extensions import db
from app.scheduling import services as scheduling

log = logging.getLogger(__name__)

CONFIG_KEYS = {"google": "GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET",
               "outlook": "MS_CLIENT_ID, MS_CLIENT_SECRET and MS_TENANT"}


# --- tokens at rest -----------------------------------------------------------------------------------------

def seal_tokens(tokens):
    return crypto.encrypt(json.dumps({
        "access_token": tokens.access_token, "refresh_token": tokens.refresh_token,
        "expires_at": tokens.expires_at.isoformat() if tokens.expires_at else None, "scope": tokens.scope,
        "account_email": tokens.account_email, "extra": tokens.extra}))


def open_tokens(connection):
    return open_grant(connection.tokens_encrypted)


def open_grant(sealed):
    """``Tokens`` from their sealed (encrypted) form; ``crypto.Undecryptable`` when no key opens it."""
    data = json.loads(crypto.decrypt(sealed))
    expires_at = datetime.fromisoformat(data["expires_at"]) if data.get("expires_at") else None
    return Tokens(access_token=data["access_token"], refresh_token=data.get("refresh_token"), expires_at=expires_at,
                  scope=data.get("scope") or "", account_email=data.get("account_email"),
                  extra=data.get("extra") or {})


def rotate_tokens():
    """Re-encrypt every stored grant under the newest DATA_ENCRYPTION_KEYS key. Returns how many."""
    rows = db.session.scalars(sa.select(CalendarConnection)).all()
    for row in rows:
        row.tokens_encrypted = crypto.rotate(row.tokens_encrypted)
    return len(rows)


# --- connect ------------------------------------------------------------------------------------------------

def require_provider(name):
    """The provider ``name``; unknown → 404, not configured → 503 naming the settings."""
    if name not in providers.names():
        raise NotFound(f"Unknown calendar provider: {name}.")
    if not providers.configured(name):
        raise ServiceUnavailable(f"{name.capitalize()} Calendar is not configured on this server "
                                 f"(set {CONFIG_KEYS.get(name, 'its client settings')}).")
    return providers.get(name)


def start_connection(user, provider_name, redirect_uri, now=None):
    """A new one-time authorization (state bound to ``user``, PKCE verifier kept encrypted); returns the
    provider's authorization URL and when it expires."""
    provider = require_provider(provider_name)
    now = now or clock.utcnow()
    state, verifier = random_token(32), random_token(48)
    expires_at = now + timedelta(minutes=current_app.config["CALENDAR_OAUTH_STATE_MINUTES"])
    try:  # Outlook's URL needs msal's tenant discovery: the identity platform must answer
        url = provider.authorization_url(state, verifier, redirect_uri)
    except ProviderError as failure:
        log.warning("Could not start a %s connection: %s", provider_name, failure)
        raise ServiceUnavailable(f"{provider_name.capitalize()} Calendar is unavailable right now: try again "
                                 "later.") from None
    db.session.execute(sa.delete(CalendarOAuthState).where(CalendarOAuthState.expires_at < now))
    db.session.add(CalendarOAuthState(
        state_digest=keyed_digest(state), user_id=user.id, provider=provider_name,
        code_verifier_encrypted=crypto.encrypt(verifier), redirect_uri=redirect_uri, expires_at=expires_at))
    db.session.flush()
    return {"authorization_url": url, "expires_at": expires_at}


def _bad_state(message="Unknown, used or expired authorization state: start connecting again."):
    return Invalid(message, errors={"state": [message]})


def complete_connection(user, provider_name, state, code=None, error=None, now=None):
    """The callback: the state must be one this user started for this provider, unused and unexpired (a
    successful callback uses it up); the code is exchanged (with the PKCE verifier) and the grant stored
    encrypted. Reconnecting replaces the grant of the user's existing connection and makes it active again."""
    provider = require_provider(provider_name)
    now = now or clock.utcnow()
    row = db.session.scalar(sa.select(CalendarOAuthState).where(
        CalendarOAuthState.state_digest == keyed_digest(state), CalendarOAuthState.provider == provider_name))
    if row is None or row.user_id != user.id:
        raise _bad_state()
    if row.expires_at <= now:
        raise _bad_state("This authorization expired: start connecting again.")
    if error:
        raise Invalid(f"The authorization was not granted ({error}).", errors={"error": [error]})
    if not code:
        raise Invalid("The callback carries no code.", errors={"code": ["Missing."]})
    verifier, redirect_uri = crypto.decrypt(row.code_verifier_encrypted), row.redirect_uri
    try:
        tokens = provider.exchange_code(code, verifier, redirect_uri)
    except ProviderError as failure:
        raise Invalid(f"{provider_name.capitalize()} did not accept the authorization: {failure}",
                      errors={"code": ["Refused by the provider."]}) from None
    db.session.delete(row)
    connection = db.session.scalar(sa.select(CalendarConnection).where(
        CalendarConnection.user_id == user.id, CalendarConnection.provider == provider_name))
    if connection is None:
        connection = CalendarConnection(user_id=user.id, provider=provider_name)
        db.session.add(connection)
    connection.tokens_encrypted = seal_tokens(tokens)
    connection.account_email = tokens.account_email
    connection.status, connection.broken_reason, connection.broken_notified_at = "active", None, None
    connection.sync_cursor, connection.backoff_until = None, None
    db.session.flush()
    publish("calendar.connected", connection_id=connection.id, user_id=user.id, provider=provider_name)
    return connection


def list_connections(user):
    return sa.select(CalendarConnection).where(CalendarConnection.user_id == user.id).order_by(CalendarConnection.id)


def get_connection(user, connection_id):
    connection = db.session.get(CalendarConnection, connection_id)
    if connection is None or connection.user_id != user.id:
        raise NotFound("No such calendar connection.")
    return connection


def delete_connection(user, connection_id, now=None):
    """Disconnect: the connection, its pushed-event mapping and the busy time pulled from it go now; a job
    (``calendar.disconnected``) then stops the push channel and deletes the events Tutorhub pushed for sessions
    not over yet (those that ended stay in the calendar as the user's record), with the grant the connection had
    (encrypted). Best effort: a broken connection's grant is not tried, and a grant revoked meanwhile leaves those
    events in the calendar."""
    connection = get_connection(user, connection_id)
    if connection.status == "active" and connection.provider in providers.names():
        mappings = db.session.execute(sa.select(CalendarPushedEvent.booking_id, CalendarPushedEvent.external_id)
                                      .where(CalendarPushedEvent.connection_id == connection.id)
                                      .order_by(CalendarPushedEvent.id)).all()
        not_over = scheduling.bookings_not_over([booking_id for booking_id, _ in mappings], now or clock.utcnow())
        publish("calendar.disconnected", connection_id=connection.id, user_id=user.id, provider=connection.provider,
                grant=connection.tokens_encrypted,
                event_ids=[external_id for booking_id, external_id in mappings if booking_id in not_over],
                channel_id=connection.channel_id, channel_resource_id=connection.channel_resource_id)
    db.session.execute(sa.delete(CalendarPushedEvent).where(CalendarPushedEvent.connection_id == connection.id))
    scheduling.sync_external_busy(user.id, connection.provider, [], full=True)
    db.session.delete(connection)


def channel_of(connection):
    return Channel(channel_id=connection.channel_id, resource_id=connection.channel_resource_id,
                   expires_at=connection.channel_expires_at, token="")


# --- push notifications ---------------------------------------------------------------------------------------

def _channel_connection(provider_name, channel_id, token):
    """The connection of a push channel when ``token`` is its channel token; 404 unknown, 403 wrong token."""
    connection = db.session.scalar(sa.select(CalendarConnection).where(
        CalendarConnection.channel_id == channel_id, CalendarConnection.provider == provider_name)) \
        if channel_id else None
    if connection is None:
        raise NotFound("Unknown notification channel.")
    if not token or not connection.channel_token_digest or \
            not hmac.compare_digest(keyed_digest(token), connection.channel_token_digest):
        raise Forbidden("Wrong channel token.")
    return connection


def google_notification(channel_id, token, resource_state, resource_id=None):
    """A Google ``events.watch`` notification: checked against the channel token; 'sync' (the handshake) does
    nothing, anything else asks for an incremental pull. Returns whether a pull was asked for."""
    connection = _channel_connection("google", channel_id, token)
    if resource_id and connection.channel_resource_id and resource_id != connection.channel_resource_id:
        raise Forbidden("The notification names another resource.")
    if resource_state == "sync" or connection.status != "active":
        return False
    publish("calendar.sync_requested", connection_id=connection.id)
    return True


def graph_notifications(items):
    """Microsoft Graph change notifications: every item's ``clientState`` must match its subscription (else 403
    and nothing is done); each connection named is asked for one incremental pull. Returns how many."""
    connections = {}
    for item in items:
        connection = _channel_connection("outlook", item.get("subscriptionId"), item.get("clientState"))
        connections[connection.id] = connection
    asked = 0
    for connection in connections.values():
        if connection.status == "active":
            publish("calendar.sync_requested", connection_id=connection.id)
            asked += 1
    return asked
