"""Google Calendar behind the provider interface (``base``): OAuth with ``google-auth-oauthlib`` (PKCE S256), the
Calendar API through ``google-api-python-client`` with its bundled (static) discovery document.

Scope: ``calendar.events.owned`` only, the narrowest one that covers every call made here (events insert, patch,
delete, list with sync tokens, watch; channels stop) on calendars the user owns (their primary calendar). The
free/busy endpoint is not used: it has neither sync tokens nor push channels, so busy time comes from the events
list (transparent, declined and cancelled events are not busy).

Event ids are chosen by us from the booking key (base32hex, Google's allowed alphabet), so a retried insert
answers 409 and becomes a patch instead of a second event. Events we write carry
``extendedProperties.private.tutorhub``; the busy pull reports them as ``ours``.

The HTTP transport of each request is an ``httplib2.Http``-like object from ``http_factory`` (tests pass
``googleapiclient.http.HttpMockSequence``); token calls go through ``requests`` to ``GOOGLE_TOKEN_URI``.
"""
import base64
import functools
import json
import uuid
from datetime import UTC, date, datetime, time, timedelta

import google.auth.exceptions
import google.auth.transport.requests
import google.oauth2.credentials
import httplib2
import requests
from google_auth_oauthlib.flow import Flow
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from oauthlib.oauth2.rfc6749.errors import OAuth2Error

from app.calendars.providers.base import (
    BusyChange,
    Channel,
    GrantRevoked,
    ProviderError,
    RateLimited,
    SyncTokenExpired,
    Tokens,
)

SCOPES = ["https://www.googleapis.com/auth/calendar.events.owned"]
CALENDAR = "primary"
MARK = "tutorhub"  # extendedProperties.private key on the events Tutorhub writes
PAGE_SIZE = 250
LIST_FIELDS = ("items(id,status,start,end,transparency,extendedProperties/private,attendees(self,responseStatus)),"
               "nextPageToken,nextSyncToken")
CHANNEL_TTL = timedelta(days=7)
RATE_LIMIT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"}
TIMEOUT = 20


def event_id(key):
    """Google's client-chosen id for a key: base32hex (0-9, a-v), lowercase, no padding; 5 to 1024 chars."""
    return base64.b32hexencode(f"tutorhub:{key}".encode()).decode().rstrip("=").lower()


class GoogleProvider:
    name = "google"

    def __init__(self, config, http_factory=None, requests_session=None):
        self.client_id = config.get("GOOGLE_CLIENT_ID")
        self.client_secret = config.get("GOOGLE_CLIENT_SECRET")
        self.auth_uri = config.get("GOOGLE_AUTH_URI", "https://accounts.google.com/o/oauth2/auth")
        self.token_uri = config.get("GOOGLE_TOKEN_URI", "https://oauth2.googleapis.com/token")
        self.api_base = config.get("GOOGLE_CALENDAR_API_BASE") or None  # None: the discovery document's
        self.http_factory = http_factory or (lambda: httplib2.Http(timeout=TIMEOUT))
        self.requests_session = requests_session

    @staticmethod
    def configured(config):
        return bool(config.get("GOOGLE_CLIENT_ID") and config.get("GOOGLE_CLIENT_SECRET"))

    # --- OAuth ----------------------------------------------------------------------------------------------

    def _flow(self, code_verifier, redirect_uri, state=None):
        client_config = {"web": {"client_id": self.client_id, "client_secret": self.client_secret,
                                 "auth_uri": self.auth_uri, "token_uri": self.token_uri}}
        flow = Flow.from_client_config(client_config, SCOPES, redirect_uri=redirect_uri, state=state,
                                       code_verifier=code_verifier, autogenerate_code_verifier=False)
        if self.requests_session is not None:
            flow.oauth2session.mount("http://", self.requests_session.get_adapter("http://"))
            flow.oauth2session.mount("https://", self.requests_session.get_adapter("https://"))
        return flow

    def authorization_url(self, state, code_verifier, redirect_uri):
        url, _state = self._flow(code_verifier, redirect_uri, state=state).authorization_url(
            access_type="offline", prompt="consent", include_granted_scopes="false")
        return url

    def exchange_code(self, code, code_verifier, redirect_uri):
        flow = self._flow(code_verifier, redirect_uri)
        try:
            token = flow.fetch_token(code=code, timeout=TIMEOUT)
        except requests.RequestException as error:
            raise ProviderError(f"Google token endpoint unreachable: {error}") from None
        except (OAuth2Error, Warning) as error:  # invalid_grant, invalid_request, …; a changed scope
            if getattr(error, "error", None) == "invalid_grant":
                raise GrantRevoked(f"Google refused the code: {error}") from None
            raise ProviderError(f"Google refused the code: {error}") from None
        expires_at = datetime.fromtimestamp(token["expires_at"], UTC) if token.get("expires_at") else None
        scope = token.get("scope") or ""
        return Tokens(access_token=token["access_token"], refresh_token=token.get("refresh_token"),
                      expires_at=expires_at, scope=" ".join(scope) if isinstance(scope, list) else scope)

    def refresh(self, tokens):
        if not tokens.refresh_token:
            raise GrantRevoked("No refresh token: reconnect the calendar.")
        credentials = google.oauth2.credentials.Credentials(
            token=tokens.access_token, refresh_token=tokens.refresh_token, token_uri=self.token_uri,
            client_id=self.client_id, client_secret=self.client_secret)
        session = self.requests_session or requests.Session()
        try:
            credentials.refresh(google.auth.transport.requests.Request(session=session))
        except google.auth.exceptions.RefreshError as error:
            data = error.args[1] if len(error.args) > 1 and isinstance(error.args[1], dict) else {}
            if data.get("error") == "invalid_grant" or "invalid_grant" in str(error):
                raise GrantRevoked(f"Google revoked the grant (invalid_grant): {data.get('error_description', '')}"
                                   .rstrip(": ")) from None
            raise ProviderError(f"Google token refresh failed: {error}") from None
        except google.auth.exceptions.TransportError as error:
            raise ProviderError(f"Google token endpoint unreachable: {error}") from None
        expiry = credentials.expiry.replace(tzinfo=UTC) if credentials.expiry else None
        return Tokens(access_token=credentials.token, refresh_token=credentials.refresh_token or tokens.refresh_token,
                      expires_at=expiry, scope=tokens.scope, account_email=tokens.account_email,
                      extra=dict(tokens.extra))

    # --- API calls ------------------------------------------------------------------------------------------

    def _events(self):
        return _resources(self.api_base)[0]

    def _channels(self):
        return _resources(self.api_base)[1]

    def _execute(self, tokens, request):
        """Run one API request with the access token; a 401 refreshes once (the Tokens object is updated in place,
        the caller stores it) and retries; errors become the interface's exceptions."""
        for attempt in (1, 2):
            request.headers["authorization"] = f"Bearer {tokens.access_token}"
            try:
                return request.execute(http=self.http_factory())
            except HttpError as error:
                if error.resp.status == 401 and attempt == 1 and tokens.refresh_token:
                    fresh = self.refresh(tokens)
                    tokens.access_token, tokens.expires_at = fresh.access_token, fresh.expires_at
                    tokens.refresh_token = fresh.refresh_token
                    continue
                raise _translate(error) from None
            except (httplib2.HttpLib2Error, OSError) as error:
                raise ProviderError(f"Google Calendar unreachable: {error}") from None
        raise GrantRevoked("Google answered 401 after a token refresh.")

    def upsert_event(self, tokens, spec, external_id=None):
        events = self._events()
        body = _event_body(spec)
        if external_id:
            try:
                return self._execute(tokens, events.patch(calendarId=CALENDAR, eventId=external_id, body=body,
                                                          sendUpdates="none"))["id"]
            except _NotFound:
                pass  # deleted upstream (purged): insert it again under our id
        body["id"] = external_id or event_id(spec.key)
        try:
            return self._execute(tokens, events.insert(calendarId=CALENDAR, body=body, sendUpdates="none"))["id"]
        except _Duplicate:  # a retry of an insert that landed: update it instead of making a second event
            return self._execute(tokens, events.patch(calendarId=CALENDAR, eventId=body["id"], body=body,
                                                      sendUpdates="none"))["id"]

    def find_event(self, tokens, key):
        """The id an event pushed under ``key`` has (chosen by us, derived from the key): no call needed."""
        return event_id(key)

    def delete_event(self, tokens, external_id):
        try:
            self._execute(tokens, self._events().delete(calendarId=CALENDAR, eventId=external_id,
                                                                    sendUpdates="none"))
        except _NotFound:
            pass  # already gone

    def busy_changes(self, tokens, cursor, window_start, window_end):
        events = self._events()
        params = {"calendarId": CALENDAR, "singleEvents": True, "maxResults": PAGE_SIZE, "fields": LIST_FIELDS}
        if cursor:
            params["syncToken"] = cursor
        else:
            params.update(timeMin=_rfc3339(window_start), timeMax=_rfc3339(window_end))
        changes, page_token = [], None
        while True:
            try:
                page = self._execute(tokens, events.list(**params, pageToken=page_token) if page_token
                                     else events.list(**params))
            except _Gone:
                raise SyncTokenExpired("Google's sync token expired (410): full resync.") from None
            changes += [_busy_change(item) for item in page.get("items", [])]
            page_token = page.get("nextPageToken")
            if not page_token:
                return changes, page.get("nextSyncToken")

    def watch(self, tokens, callback_url, channel_token):
        body = {"id": str(uuid.uuid4()), "type": "web_hook", "address": callback_url, "token": channel_token,
                "params": {"ttl": str(int(CHANNEL_TTL.total_seconds()))}}
        answer = self._execute(tokens, self._events().watch(calendarId=CALENDAR, body=body))
        expires = (datetime.fromtimestamp(int(answer["expiration"]) / 1000, UTC) if answer.get("expiration")
                   else datetime.now(UTC) + CHANNEL_TTL)
        return Channel(channel_id=answer.get("id", body["id"]), resource_id=answer.get("resourceId"),
                       expires_at=expires, token=channel_token)

    def stop(self, tokens, channel):
        try:
            self._execute(tokens, self._channels().stop(
                body={"id": channel.channel_id, "resourceId": channel.resource_id}))
        except _NotFound:
            pass  # expired or stopped already


@functools.cache
def _resources(api_base=None):
    """The Calendar API's ``events`` and ``channels`` resources, built once per process (and API base URL) from the
    bundled discovery document (building them costs tens of milliseconds: every method and its docstring). They only
    build requests; each request runs on the provider's own transport (``execute(http=...)``). ``api_base``
    (GOOGLE_CALENDAR_API_BASE, e.g. the local simulator's) replaces the document's base URL through the client's
    public ``client_options={"api_endpoint": ...}``."""
    options = {"api_endpoint": api_base} if api_base else None
    service = build("calendar", "v3", static_discovery=True, http=httplib2.Http(timeout=TIMEOUT),
                    cache_discovery=False, client_options=options)
    return service.events(), service.channels()


class _NotFound(ProviderError):
    pass


class _Gone(_NotFound):
    pass


class _Duplicate(ProviderError):
    pass


def _reasons(error):
    try:
        payload = json.loads(error.content.decode() if isinstance(error.content, bytes) else error.content)
    except (ValueError, AttributeError):
        return set()
    details = payload.get("error", {}) if isinstance(payload, dict) else {}
    return {item.get("reason") for item in details.get("errors", []) if isinstance(item, dict)}


def _translate(error):
    status = error.resp.status
    if status == 429 or (status == 403 and _reasons(error) & RATE_LIMIT_REASONS):
        try:
            retry_after = int(error.resp.get("retry-after", 60))
        except ValueError:
            retry_after = 60
        return RateLimited(f"Google rate limit ({status}).", retry_after=retry_after)
    if status == 401:
        return GrantRevoked("Google answered 401.")
    if status == 410:
        return _Gone("Gone (410).")
    if status == 404:
        return _NotFound("Not found (404).")
    if status == 409:
        return _Duplicate("Already exists (409).")
    return ProviderError(f"Google Calendar answered {status}: {error._get_reason() if hasattr(error, '_get_reason') else ''}")


def _rfc3339(instant):
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _event_body(spec):
    description = spec.description + (f"\n\n{spec.link}" if spec.link else "")
    body = {
        "summary": spec.title, "description": description, "status": "confirmed",
        "start": {"dateTime": _rfc3339(spec.start), "timeZone": "UTC"},
        "end": {"dateTime": _rfc3339(spec.end), "timeZone": "UTC"},
        "attendees": [{"email": address} for address in spec.attendees],
        "extendedProperties": {"private": {MARK: "1", f"{MARK}_key": spec.key}},
        "guestsCanModify": False,
    }
    if spec.link:
        body["source"] = {"title": "Tutorhub", "url": spec.link}
    return body


def _instant(value):
    """An event's start or end as aware UTC; all-day dates are taken as UTC midnight."""
    if not value:
        return None
    if value.get("dateTime"):
        return datetime.fromisoformat(value["dateTime"].replace("Z", "+00:00")).astimezone(UTC)
    if value.get("date"):
        return datetime.combine(date.fromisoformat(value["date"]), time(0), tzinfo=UTC)
    return None


def _busy_change(item):
    ours = (item.get("extendedProperties") or {}).get("private", {}).get(MARK) == "1"
    declined = any(a.get("self") and a.get("responseStatus") == "declined" for a in item.get("attendees") or ())
    removed = item.get("status") == "cancelled" or item.get("transparency") == "transparent" or declined
    return BusyChange(external_id=item["id"], start=_instant(item.get("start")), end=_instant(item.get("end")),
                      removed=removed, ours=ours)
