"""What the calendar sync services ask of a provider (Google Calendar, Microsoft Graph for Outlook).

A provider is a class built with the app's configuration and an HTTP transport tests can replace; each method
takes the connection's ``Tokens`` (refreshed first when expired) and raises the errors below, which the sync
services turn into connection states (``GrantRevoked`` → broken, ``RateLimited`` → back off, ``ProviderError``
→ retried with backoff by RQ). Every datetime is aware UTC.

    authorization_url(state, code_verifier, redirect_uri) -> str
    exchange_code(code, code_verifier, redirect_uri) -> Tokens
    refresh(tokens) -> Tokens
    upsert_event(tokens, spec: EventSpec, external_id=None) -> str        (the provider's event id; idempotent
                                                                          by spec.key: a retry makes no second one)
    delete_event(tokens, external_id) -> None                             (already gone is fine)
    find_event(tokens, key) -> str | None                                 (the id of the event pushed under key
                                                                          when it was never recorded: Google
                                                                          derives it, it may not exist; Graph
                                                                          looks it up, None when there is none)
    busy_changes(tokens, cursor, window_start, window_end) -> (list[BusyChange], next_cursor)
                                                                          (cursor None: a full sync of the window;
                                                                          raises SyncTokenExpired for a resync)
    watch(tokens, callback_url, channel_token) -> Channel                 (push notifications; NotImplementedError
                                                                          when the provider cannot: poll instead)
    stop(tokens, channel: Channel) -> None
"""
from dataclasses import dataclass, field
from datetime import datetime


class ProviderError(Exception):
    """A provider call failed in a way a retry may fix (5xx, network)."""


class GrantRevoked(ProviderError):
    """The user's grant is gone (``invalid_grant``, a 401 after a refresh): broken until reconnected."""


class RateLimited(ProviderError):
    """429, or Google's 403 ``rateLimitExceeded``: back this connection off for ``retry_after`` seconds."""

    def __init__(self, message, retry_after=60):
        super().__init__(message)
        self.retry_after = retry_after


class SyncTokenExpired(ProviderError):
    """The incremental cursor is no longer valid (Google's 410, Graph's ``syncStateNotFound``): sync in full."""


@dataclass
class Tokens:
    access_token: str
    refresh_token: str | None
    expires_at: datetime | None
    scope: str = ""
    account_email: str | None = None
    extra: dict = field(default_factory=dict)  # provider state to keep with the tokens (e.g. an msal cache)


@dataclass
class EventSpec:
    key: str  # stable, derived from the booking: Google's client-chosen event id, Graph's transactionId
    title: str
    start: datetime
    end: datetime
    description: str
    attendees: list = field(default_factory=list)  # email addresses (Google's guests; Outlook never sends them)
    participants: list = field(default_factory=list)  # display lines, e.g. "Ada Lovelace (tutor)"
    link: str | None = None


@dataclass
class BusyChange:
    external_id: str
    start: datetime | None
    end: datetime | None
    removed: bool = False  # deleted or cancelled upstream, or now marked free
    ours: bool = False  # an event Tutorhub pushed itself (never pulled back as busy time)


@dataclass
class Channel:
    channel_id: str
    resource_id: str | None
    expires_at: datetime
    token: str  # Google's channel token, Graph's clientState
