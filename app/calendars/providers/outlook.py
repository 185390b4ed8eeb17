"""Outlook calendars through Microsoft Graph: msal for the grant, ``requests`` for Graph (see ``base``).

Scopes (least privilege for what the sync does): ``Calendars.ReadWrite`` is the smallest delegated permission
that both writes the booking events and reads the calendar view delta (``Calendars.Read`` cannot write, and
nothing narrower than the user's own calendars exists for delegated access); ``User.Read`` reads the mailbox
address of the account (``GET /me``) shown in the connection list; ``offline_access`` (added by msal itself, with
``openid`` and ``profile``; it refuses them as user scopes) yields the refresh token the jobs use when the user is
away. No ``Mail.*``, ``Calendars.*.Shared`` or application permissions.

The grant is msal's confidential client with a per-user ``SerializableTokenCache``: the cache travels in
``Tokens.extra["msal_cache"]`` so the sync services store it encrypted with the other tokens, and ``refresh``
asks msal for a token from that cache (its refresh token). The authorization code flow uses the PKCE verifier the
sync services hold with the OAuth state: the URL is msal's ``initiate_auth_code_flow`` one with the S256
challenge of that verifier, and the code is redeemed with ``acquire_token_by_authorization_code`` sending it.

Events we push carry the booking key as ``transactionId`` (Graph's idempotent create), in a single-value extended
property (``find_event`` filters on it when the event's id was never recorded), and the ``Tutorhub`` category, which is what ``busy_changes`` sees (delta cannot expand extended
properties) to report them ``ours``.

No ``attendees``: Graph mails every attendee a meeting request when an event is created with them ("When an event
is sent, the server sends invitations to all the attendees", Create event, learn.microsoft.com/graph/api/
user-post-events) and a cancellation when the organizer deletes it ("deleting the event on the organizer's calendar
sends a cancellation message to the meeting attendees", Delete event, learn.microsoft.com/graph/api/event-delete),
and it has nothing like Google's ``sendUpdates=none``. Tutorhub writes its own event into each participant's
connected calendar, so attendees would double the invitations and a disconnect would mail the other participant a
false cancellation: the participants (``EventSpec.participants``) are listed in the body instead.

Any call may refresh the tokens (a 401 is retried once after a refresh): the ``Tokens`` passed in are then updated
in place, and the caller stores them again when ``tokens.extra["msal_cache"]`` or ``access_token`` changed.
"""
import base64
import hashlib
import hmac
import warnings
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msal
import requests

from app.calendars.providers.base import (
    BusyChange,
    Channel,
    GrantRevoked,
    ProviderError,
    RateLimited,
    SyncTokenExpired,
    Tokens,
)

SCOPES = ["Calendars.ReadWrite", "User.Read"]
DEFAULT_AUTHORITY_BASE = "https://login.microsoftonline.com"
DEFAULT_GRAPH_BASE = "https://graph.microsoft.com/v1.0"
CATEGORY = "Tutorhub"  # on every event we push: calendar view delta returns categories (it cannot $expand)
# A named single-value extended property holding the booking key, on every event we push.
KEY_PROPERTY_ID = "String {8d6f3a52-7c1e-4b8a-9f0d-3e5b2c71a4f6} Name TutorhubKey"
SUBSCRIPTION_MAX_MINUTES = 4230  # Graph's longest subscription on Outlook events
DELTA_PREFER = 'outlook.timezone="UTC", odata.maxpagesize=100'
FREE_STATES = {"free", "workingElsewhere"}
EXPIRED_SYNC_CODES = {"syncStateNotFound", "syncStateInvalid", "resyncRequired"}
DENIED_CODES = {"ErrorAccessDenied", "Authorization_RequestDenied", "AccessDenied"}  # consent withdrawn
REVOKED_ERRORS = {"invalid_grant", "interaction_required", "consent_required"}


class OutlookNotConfigured(RuntimeError):
    """``MS_CLIENT_ID`` / ``MS_CLIENT_SECRET`` are unset: connecting Outlook answers 503 with this message."""


class ChannelGone(ProviderError):
    """The Graph subscription to renew no longer exists (expired or deleted): subscribe again with ``watch``."""


class OutlookProvider:
    """The ``base`` interface over msal + Graph, plus ``renew(tokens, channel)`` for subscriptions."""

    name = "outlook"

    def __init__(self, config, http=None):
        self.client_id = config.get("MS_CLIENT_ID")
        self.client_secret = config.get("MS_CLIENT_SECRET")
        self.tenant = config.get("MS_TENANT") or "common"
        self.authority_base = (config.get("MS_AUTHORITY_BASE") or DEFAULT_AUTHORITY_BASE).rstrip("/")
        self.graph_base = (config.get("MS_GRAPH_BASE") or DEFAULT_GRAPH_BASE).rstrip("/")
        self.timeout = float(config.get("MS_TIMEOUT_SECONDS") or 15)
        self.subscription_minutes = min(int(config.get("MS_SUBSCRIPTION_MINUTES") or SUBSCRIPTION_MAX_MINUTES),
                                        SUBSCRIPTION_MAX_MINUTES)
        self.response_mode = config.get("MS_RESPONSE_MODE") or "query"
        self.http = http or requests.Session()
        self._http_cache = {}  # msal's tenant discovery, shared by the per-user applications (no tokens in it)

    @staticmethod
    def configured(config):
        """Whether the app registration is set (the registry's convention: without it, connecting answers 503)."""
        return bool(config.get("MS_CLIENT_ID") and config.get("MS_CLIENT_SECRET"))

    @property
    def authority(self):
        return f"{self.authority_base}/{self.tenant}"

    # -- the grant (msal) ---------------------------------------------------------------------------------------

    def _msal(self, cache):
        if not (self.client_id and self.client_secret):
            raise OutlookNotConfigured("Outlook calendars are not configured (MS_CLIENT_ID / MS_CLIENT_SECRET).")
        custom = self.authority_base != DEFAULT_AUTHORITY_BASE  # a stub or a sovereign cloud we were told to trust
        try:
            return msal.ConfidentialClientApplication(
                self.client_id, client_credential=self.client_secret, authority=self.authority,
                token_cache=cache, http_client=self.http, http_cache=self._http_cache,
                validate_authority=not custom, instance_discovery=not custom,
            )
        except (ValueError, requests.RequestException) as exc:  # tenant discovery failed
            raise ProviderError(f"Microsoft identity platform unavailable: {exc}") from exc

    def authorization_url(self, state, code_verifier, redirect_uri):
        app = self._msal(msal.SerializableTokenCache())
        with warnings.catch_warnings():  # msal recommends form_post; "query" is the configured, deliberate choice
            warnings.simplefilter("ignore", UserWarning)
            flow = app.initiate_auth_code_flow(
                SCOPES, redirect_uri=redirect_uri, state=state,
                response_mode="form_post" if self.response_mode == "form_post" else None)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(code_verifier.encode()).digest()).rstrip(b"=").decode()
        parts = urlsplit(flow["auth_uri"])
        query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("code_challenge", "code_challenge_method",
                                                                         "nonce")]
        query += [("code_challenge", challenge), ("code_challenge_method", "S256")]
        return urlunsplit(parts._replace(query=urlencode(query)))

    def exchange_code(self, code, code_verifier, redirect_uri):
        cache = msal.SerializableTokenCache()
        app = self._msal(cache)
        with warnings.catch_warnings():  # msal nudges towards the flow dict; we hold the verifier ourselves
            warnings.simplefilter("ignore", DeprecationWarning)
            result = self._identity_call(lambda: app.acquire_token_by_authorization_code(
                code, SCOPES, redirect_uri=redirect_uri, data={"code_verifier": code_verifier}))
        tokens = Tokens(access_token="", refresh_token=None, expires_at=None)
        self._apply(tokens, result, cache)
        me = self._graph(tokens, "GET", "/me", params={"$select": "mail,userPrincipalName"}).json()
        tokens.account_email = me.get("mail") or me.get("userPrincipalName") or tokens.account_email
        return tokens

    def refresh(self, tokens):
        cache = msal.SerializableTokenCache()
        if tokens.extra.get("msal_cache"):
            cache.deserialize(tokens.extra["msal_cache"])
        app = self._msal(cache)
        accounts = app.get_accounts()
        if not accounts:
            raise GrantRevoked("no Microsoft account in the token cache: reconnect Outlook")
        result = self._identity_call(lambda: app.acquire_token_silent_with_error(
            SCOPES, account=accounts[0], force_refresh=True))
        if result is None:
            raise GrantRevoked("no refresh token in the token cache: reconnect Outlook")
        self._apply(tokens, result, cache)
        return tokens

    @staticmethod
    def _identity_call(call):
        try:
            result = call()
        except requests.RequestException as exc:
            raise ProviderError(f"Microsoft identity platform unreachable: {exc}") from exc
        if result and "error" in result:
            message = f"{result['error']}: {result.get('error_description', '')}".strip()
            if result["error"] in REVOKED_ERRORS:
                raise GrantRevoked(message)
            raise ProviderError(message)
        return result

    @staticmethod
    def _apply(tokens, result, cache):
        tokens.access_token = result["access_token"]
        tokens.refresh_token = result.get("refresh_token") or tokens.refresh_token
        tokens.expires_at = datetime.now(UTC) + timedelta(seconds=int(result.get("expires_in", 3600)))
        scope = result.get("scope") or ""
        tokens.scope = (scope if isinstance(scope, str) else " ".join(scope)) or tokens.scope
        claims = result.get("id_token_claims") or {}
        tokens.account_email = tokens.account_email or claims.get("preferred_username")
        tokens.extra = {**tokens.extra, "msal_cache": cache.serialize()}

    # -- Graph ---------------------------------------------------------------------------------------------------

    def _graph(self, tokens, method, url, *, allow=(), retried=False, **kwargs):
        if not url.startswith(("http://", "https://")):
            url = self.graph_base + url
        extra_headers = kwargs.pop("headers", {})
        headers = {"Authorization": f"Bearer {tokens.access_token}", "Prefer": 'outlook.timezone="UTC"',
                   **extra_headers}
        try:
            response = self.http.request(method, url, headers=headers, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise ProviderError(f"Microsoft Graph unreachable: {exc}") from exc
        status = response.status_code
        if status == 401:
            if retried:
                raise GrantRevoked("Microsoft Graph refused the token after a refresh: reconnect Outlook")
            self.refresh(tokens)
            return self._graph(tokens, method, url, allow=allow, retried=True, headers=extra_headers, **kwargs)
        if status in allow:
            return response
        if status == 403 and _error_code(response) in DENIED_CODES:
            raise GrantRevoked(f"Microsoft Graph denied access ({_error_code(response)}): reconnect Outlook")
        if status == 429 or (status == 503 and response.headers.get("Retry-After")):
            raise RateLimited(f"Microsoft Graph {status}: {_error_code(response)}",
                              retry_after=_retry_after(response))
        if status >= 400:
            raise ProviderError(f"Microsoft Graph {method} {urlsplit(url).path} → {status} {_error_code(response)}")
        return response

    def upsert_event(self, tokens, spec, external_id=None):
        body = _event_body(spec)
        # An id never recorded (the job crashed after the create): find the event by its key, so a reschedule
        # patches it (a create with the spent transactionId would answer the old event unchanged).
        external_id = external_id or self.find_event(tokens, spec.key)
        if external_id:
            patch = {k: v for k, v in body.items() if k != "transactionId"}  # set at creation only
            response = self._graph(tokens, "PATCH", f"/me/events/{external_id}", json=patch, allow=(404,))
            if response.status_code != 404:
                return response.json()["id"]
            # deleted in Outlook meanwhile: create it again under a new transactionId (the old one is spent), still
            # derived from the booking and the lost event, so a retry of this job finds the same new event
            body["transactionId"] = f"{spec.key}:{hashlib.sha256(external_id.encode()).hexdigest()[:16]}"
        return self._graph(tokens, "POST", "/me/events", json=body).json()["id"]

    def find_event(self, tokens, key):
        """The id of the event carrying ``key`` in its key property (the one Tutorhub pushed), or None."""
        escaped = key.replace("'", "''")
        flt = f"singleValueExtendedProperties/Any(ep: ep/id eq '{KEY_PROPERTY_ID}' and ep/value eq '{escaped}')"
        found = self._graph(tokens, "GET", "/me/events", params={"$filter": flt, "$select": "id", "$top": "1"})
        items = found.json().get("value") or []
        return items[0]["id"] if items else None

    def delete_event(self, tokens, external_id):
        self._graph(tokens, "DELETE", f"/me/events/{external_id}", allow=(404, 410))

    def busy_changes(self, tokens, cursor, window_start, window_end):
        """Graph's calendar view delta. A cursor (the last ``@odata.deltaLink``) carries the window its round began
        with, so a moved window needs a full sync (cursor None) to take effect."""
        url, params = cursor, None
        if cursor is None:
            url = "/me/calendarView/delta"
            params = {"startDateTime": _iso(window_start), "endDateTime": _iso(window_end)}
        changes = []
        while True:
            response = self._graph(tokens, "GET", url, params=params, headers={"Prefer": DELTA_PREFER},
                                   allow=(400, 404, 410))
            if response.status_code in (400, 404, 410):
                expired = response.status_code == 410 or _error_code(response) in EXPIRED_SYNC_CODES
                if cursor is not None and expired:
                    raise SyncTokenExpired(f"Graph delta token expired ({_error_code(response)}): sync in full")
                raise ProviderError(f"Microsoft Graph delta → {response.status_code} {_error_code(response)}")
            page = response.json()
            changes.extend(_busy_change(item) for item in page.get("value", []))
            if page.get("@odata.nextLink"):
                url, params = page["@odata.nextLink"], None
                continue
            return changes, page["@odata.deltaLink"]

    # -- subscriptions -------------------------------------------------------------------------------------------

    def _expiry(self):
        return datetime.now(UTC) + timedelta(minutes=self.subscription_minutes)

    def watch(self, tokens, callback_url, channel_token):
        body = {"changeType": "created,updated,deleted", "notificationUrl": callback_url, "resource": "me/events",
                "expirationDateTime": _iso(self._expiry()), "clientState": channel_token}
        subscription = self._graph(tokens, "POST", "/subscriptions", json=body).json()
        return Channel(channel_id=subscription["id"], resource_id=subscription.get("resource"),
                       expires_at=_parse_instant(subscription["expirationDateTime"]), token=channel_token)

    def renew(self, tokens, channel):
        """Extend a subscription to the longest Graph allows; ``ChannelGone`` when it no longer exists."""
        response = self._graph(tokens, "PATCH", f"/subscriptions/{channel.channel_id}",
                               json={"expirationDateTime": _iso(self._expiry())}, allow=(404,))
        if response.status_code == 404:
            raise ChannelGone(f"Graph subscription {channel.channel_id} is gone: subscribe again")
        return Channel(channel_id=channel.channel_id, resource_id=channel.resource_id,
                       expires_at=_parse_instant(response.json()["expirationDateTime"]), token=channel.token)

    def stop(self, tokens, channel):
        self._graph(tokens, "DELETE", f"/subscriptions/{channel.channel_id}", allow=(404,))


# -- the notification route's helpers (pure) ----------------------------------------------------------------------

def validation_response(query_args):
    """Graph's subscription handshake: the ``validationToken`` to echo back as ``text/plain`` (200, within 10 s),
    or None when the request is a notification, not a validation."""
    token = query_args.get("validationToken")
    return token if token else None


def check_notifications(body, expected_client_state_by_subscription):
    """The subscription ids to pull, in arrival order without repeats, from a Graph notification body; an item
    whose ``clientState`` does not match its subscription's (or of an unknown subscription) is dropped.
    A body that is not a Graph notification collection raises ValueError."""
    if not isinstance(body, dict) or not isinstance(body.get("value"), list):
        raise ValueError("not a Microsoft Graph change notification")
    accepted = []
    for item in body["value"]:
        if not isinstance(item, dict):
            continue
        subscription_id = item.get("subscriptionId")
        expected = expected_client_state_by_subscription.get(subscription_id)
        given = item.get("clientState")
        if expected is None or not isinstance(given, str):
            continue
        if hmac.compare_digest(given.encode(), expected.encode()) and subscription_id not in accepted:
            accepted.append(subscription_id)
    return accepted


# -- mapping -------------------------------------------------------------------------------------------------------

def _event_body(spec):
    """The event as Graph takes it: participants in the body, never as ``attendees`` (see the module docstring)."""
    participants = f"\nParticipants: {', '.join(spec.participants)}" if spec.participants else ""
    content = spec.description + participants + (f"\n\n{spec.link}" if spec.link else "")
    return {
        "subject": spec.title,
        "body": {"contentType": "text", "content": content},
        "start": {"dateTime": _graph_datetime(spec.start), "timeZone": "UTC"},
        "end": {"dateTime": _graph_datetime(spec.end), "timeZone": "UTC"},
        "showAs": "busy",
        "categories": [CATEGORY],
        "transactionId": spec.key,
        "singleValueExtendedProperties": [{"id": KEY_PROPERTY_ID, "value": spec.key}],
    }


def _busy_change(item):
    if "@removed" in item:
        return BusyChange(external_id=item["id"], start=None, end=None, removed=True)
    ours = CATEGORY in (item.get("categories") or [])
    start, end = _graph_instant(item.get("start")), _graph_instant(item.get("end"))
    # Graph sends an event moved out of the round's window with its times null: no longer busy in the window
    removed = bool(item.get("isCancelled")) or item.get("showAs") in FREE_STATES or start is None or end is None
    return BusyChange(external_id=item["id"], start=start, end=end, removed=removed, ours=ours)


def _graph_datetime(value):
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


def _graph_instant(value):
    """A Graph ``dateTimeTimeZone`` ({"dateTime": "2026-12-08T10:00:00.0000000", "timeZone": "UTC"}) → aware UTC."""
    if not value or not value.get("dateTime"):
        return None
    text = value["dateTime"]
    if "." in text:  # Graph sends 7 fractional digits
        head, fraction = text.split(".", 1)
        text = f"{head}.{fraction[:6]}"
    naive = datetime.fromisoformat(text)
    zone_name = value.get("timeZone") or "UTC"
    try:
        zone = UTC if zone_name == "UTC" else ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC  # a Windows zone name: we ask for UTC (Prefer: outlook.timezone) so this is not expected
    return naive.replace(tzinfo=zone).astimezone(UTC)


def _parse_instant(text):
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _iso(value):
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _error_code(response):
    try:
        error = response.json().get("error")
    except ValueError:
        return response.text[:200]
    if isinstance(error, dict):
        return error.get("code") or ""
    return str(error or "")


def _retry_after(response):
    try:
        return max(1, int(response.headers.get("Retry-After", "60")))
    except ValueError:
        return 60
