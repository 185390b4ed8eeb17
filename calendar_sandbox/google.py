"""A simulated Google account server: OAuth (authorization code with PKCE S256, refresh tokens) and the Calendar
API v3 subset Tutorhub's provider calls, one ``primary`` calendar per simulated account, in memory.

Events: insert (client-chosen id, 409 ``duplicate`` when the id exists, even deleted), get, patch, delete (the
event stays as ``cancelled``, a second delete is 410), list (full: the window's live events; with a
``syncToken``: every change since, deleted ones as ``cancelled``; an unknown token is 410 ``fullSyncRequired``;
``maxResults`` pages with ``pageToken``), watch; channels.stop. Each change to a calendar is announced to its
watch channels as Google does (``X-Goog-*`` headers, resource state ``exists``) through ``notify(url, headers)``;
without ``notify`` the notifications wait in ``outbox`` for the caller to deliver.
"""
import base64
import hashlib
import itertools
import re
import secrets
import threading
from datetime import UTC, datetime, timedelta

SCOPE = "https://www.googleapis.com/auth/calendar.events.owned"
EVENT_ID = re.compile(r"^[a-v0-9]{5,1024}$")
MAX_RESULTS = 2500
MAX_CHANNEL_TTL = timedelta(days=30)
TOKEN_SECONDS = 3600


class SimulatorError(Exception):
    """An API error: ``status`` and Google's error body."""

    def __init__(self, status, reason, message):
        super().__init__(message)
        self.status = status
        self.body = {"error": {"code": status, "message": message,
                               "errors": [{"domain": "global", "reason": reason, "message": message}]}}


class OAuthError(Exception):
    def __init__(self, error, description, status=400):
        super().__init__(description)
        self.status, self.body = status, {"error": error, "error_description": description}


def _challenge(verifier):
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _parse(text):
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _instant(value):
    value = value or {}
    if value.get("dateTime"):
        return _parse(value["dateTime"])
    if value.get("date"):
        return _parse(value["date"] + "T00:00:00")
    return None


def rfc3339(value):
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class GoogleSimulator:
    """The accounts, their calendars, grants and watch channels. Thread-safe (one lock)."""

    def __init__(self, client_id, client_secret, notify=None):
        self.client_id, self.client_secret, self.notify = client_id, client_secret, notify
        self.lock = threading.RLock()
        self.reset()

    def reset(self):
        with self.lock:
            self.codes = {}  # code -> {account, challenge, redirect_uri, scope}
            self.access_tokens = {}  # token -> (account, expires_at)
            self.refresh_tokens = {}  # token -> account
            self.calendars = {}  # account -> {event id -> event}
            self.sync_tokens = {}  # token -> (account, sequence)
            self.pages = {}  # page token -> (account, remaining items, next sync token)
            self.channels = {}  # channel id -> channel
            self.outbox = []  # (url, headers) not yet delivered (no ``notify``)
            self.requests = []  # (method, path) of every API call
            self.sequence = itertools.count(1)
            self.last_sequence = 0

    # --- OAuth ------------------------------------------------------------------------------------------------

    def check_client(self, client_id, client_secret=None, secret_required=False):
        if client_id != self.client_id or (secret_required and client_secret != self.client_secret):
            raise OAuthError("invalid_client", "The OAuth client was not found.", 401)

    def consent(self, account, redirect_uri, challenge, method, scope):
        """The user allowed access: a one-time code bound to the PKCE challenge and the redirect URI."""
        if method != "S256" or not challenge:
            raise OAuthError("invalid_request", "code_challenge_method must be S256.")
        account = (account or "").strip().lower()
        if "@" not in account or len(account) > 254:
            raise OAuthError("invalid_request", "Give the account's email address.")
        code = "4/" + secrets.token_urlsafe(24)
        with self.lock:
            self.codes[code] = {"account": account, "challenge": challenge, "redirect_uri": redirect_uri,
                                "scope": scope or SCOPE}
            self.calendars.setdefault(account, {})
        return code

    def token(self, form, basic=None):
        """The token endpoint: ``authorization_code`` (PKCE checked) or ``refresh_token``."""
        client_id, client_secret = basic or (form.get("client_id"), form.get("client_secret"))
        self.check_client(client_id, client_secret, secret_required=True)
        grant = form.get("grant_type")
        with self.lock:
            if grant == "authorization_code":
                issued = self.codes.pop(form.get("code", ""), None)
                if issued is None or issued["redirect_uri"] != form.get("redirect_uri"):
                    raise OAuthError("invalid_grant", "Malformed auth code.")
                if _challenge(form.get("code_verifier", "")) != issued["challenge"]:
                    raise OAuthError("invalid_grant", "Invalid code verifier.")
                refresh = "1//" + secrets.token_urlsafe(24)
                self.refresh_tokens[refresh] = issued["account"]
                return self._access(issued["account"], issued["scope"], refresh)
            if grant == "refresh_token":
                account = self.refresh_tokens.get(form.get("refresh_token", ""))
                if account is None:
                    raise OAuthError("invalid_grant", "Token has been expired or revoked.")
                return self._access(account, SCOPE)
        raise OAuthError("unsupported_grant_type", f"Invalid grant_type: {grant}")

    def _access(self, account, scope, refresh=None):
        token = "ya29." + secrets.token_urlsafe(24)
        self.access_tokens[token] = (account, datetime.now(UTC) + timedelta(seconds=TOKEN_SECONDS))
        body = {"access_token": token, "expires_in": TOKEN_SECONDS, "token_type": "Bearer", "scope": scope}
        if refresh:
            body["refresh_token"] = refresh
        return body

    def revoke(self, account):
        """The user removed the app's access: its tokens stop working (invalid_grant on refresh)."""
        with self.lock:
            for table in (self.access_tokens, self.refresh_tokens):
                for token in [t for t, v in table.items() if (v[0] if isinstance(v, tuple) else v) == account]:
                    del table[token]

    def account_for(self, authorization):
        token = (authorization or "").removeprefix("Bearer ").strip()
        with self.lock:
            account, expires_at = self.access_tokens.get(token, (None, None))
        if account is None or expires_at <= datetime.now(UTC):
            raise SimulatorError(401, "authError", "Invalid Credentials")
        return account

    # --- events -----------------------------------------------------------------------------------------------

    def _calendar(self, account, calendar_id):
        if calendar_id not in ("primary", account):
            raise SimulatorError(404, "notFound", "Not Found")
        return self.calendars.setdefault(account, {})

    def _changed(self, account, event):
        event["_sequence"] = self.last_sequence = next(self.sequence)
        event["updated"] = rfc3339(datetime.now(UTC))
        self._announce(account)

    def insert(self, account, calendar_id, body):
        body = dict(body or {})
        if _instant(body.get("start")) is None or _instant(body.get("end")) is None:
            raise SimulatorError(400, "required", "Missing start or end time.")
        with self.lock:
            events = self._calendar(account, calendar_id)
            event_id = body.get("id") or secrets.token_hex(13)
            if not EVENT_ID.match(event_id):
                raise SimulatorError(400, "invalid", "Invalid resource id value.")
            if event_id in events:
                raise SimulatorError(409, "duplicate", "The requested identifier already exists.")
            event = {"kind": "calendar#event", "status": "confirmed", **body, "id": event_id,
                     "created": rfc3339(datetime.now(UTC))}
            events[event_id] = event
            self._changed(account, event)
            return public(event)

    def _event(self, account, calendar_id, event_id):
        event = self._calendar(account, calendar_id).get(event_id)
        if event is None:
            raise SimulatorError(404, "notFound", "Not Found")
        return event

    def get(self, account, calendar_id, event_id):
        with self.lock:
            return public(self._event(account, calendar_id, event_id))

    def patch(self, account, calendar_id, event_id, body):
        with self.lock:
            event = self._event(account, calendar_id, event_id)
            event.update({k: v for k, v in (body or {}).items() if k not in ("id", "kind", "created", "updated")})
            self._changed(account, event)
            return public(event)

    def delete(self, account, calendar_id, event_id):
        with self.lock:
            event = self._event(account, calendar_id, event_id)
            if event["status"] == "cancelled":
                raise SimulatorError(410, "deleted", "Resource has been deleted")
            event["status"] = "cancelled"
            self._changed(account, event)

    def list(self, account, calendar_id, args):
        """One page of events.list: a page token continues its listing; a sync token lists the changes since it
        (410 when unknown); otherwise the live events overlapping [timeMin, timeMax)."""
        try:
            size = max(1, min(int(args.get("maxResults", 250)), MAX_RESULTS))
        except ValueError:
            raise SimulatorError(400, "invalid", "Invalid value for maxResults.") from None
        with self.lock:
            events = self._calendar(account, calendar_id)
            if args.get("pageToken"):
                owner, items, next_sync = self.pages.pop(args["pageToken"], (None, None, None))
                if owner != account:
                    raise SimulatorError(400, "invalid", "Invalid page token value.")
            else:
                items, next_sync = self._listing(account, events, args), self._sync_token(account)
            page, rest = items[:size], items[size:]
            answer = {"kind": "calendar#events", "summary": account, "items": [public(e) for e in page]}
            if rest:
                token = secrets.token_urlsafe(12)
                self.pages[token] = (account, rest, next_sync)
                answer["nextPageToken"] = token
            else:
                answer["nextSyncToken"] = next_sync
            return answer

    def _listing(self, account, events, args):
        if args.get("syncToken"):
            owner, since = self.sync_tokens.get(args["syncToken"], (None, None))
            if owner != account:
                raise SimulatorError(410, "fullSyncRequired", "Sync token is no longer valid, a full sync is required.")
            return sorted((e for e in events.values() if e["_sequence"] > since), key=lambda e: e["_sequence"])
        low = _parse(args["timeMin"]) if args.get("timeMin") else None
        high = _parse(args["timeMax"]) if args.get("timeMax") else None
        return sorted((e for e in events.values() if e["status"] != "cancelled"
                       and (high is None or _instant(e["start"]) < high) and (low is None or _instant(e["end"]) > low)),
                      key=lambda e: (_instant(e["start"]), e["id"]))

    def _sync_token(self, account):
        token = secrets.token_urlsafe(16)
        self.sync_tokens[token] = (account, self.last_sequence)
        return token

    def expire_sync_tokens(self):
        with self.lock:
            self.sync_tokens.clear()

    # --- push channels ----------------------------------------------------------------------------------------

    def watch(self, account, calendar_id, body, base_url):
        body = body or {}
        if not body.get("id") or not body.get("address") or body.get("type") not in ("web_hook", "webhook"):
            raise SimulatorError(400, "required", "A channel needs an id, type web_hook and an address.")
        try:
            ttl = timedelta(seconds=int((body.get("params") or {}).get("ttl", 604800)))
        except ValueError:
            raise SimulatorError(400, "invalid", "Invalid ttl.") from None
        with self.lock:
            self._calendar(account, calendar_id)
            if body["id"] in self.channels:
                raise SimulatorError(400, "channelIdNotUnique", "Channel id not unique.")
            expires = datetime.now(UTC) + min(ttl, MAX_CHANNEL_TTL)
            channel = {"kind": "api#channel", "id": body["id"], "resourceId": secrets.token_urlsafe(12),
                       "resourceUri": f"{base_url}/calendars/{account}/events", "token": body.get("token"),
                       "expiration": str(int(expires.timestamp() * 1000)), "address": body["address"],
                       "account": account, "messages": itertools.count(1)}
            self.channels[channel["id"]] = channel
            return {k: v for k, v in channel.items() if k not in ("address", "account", "messages")}

    def stop(self, account, body):
        body = body or {}
        with self.lock:
            channel = self.channels.get(body.get("id"))
            if channel is None or channel["account"] != account or channel["resourceId"] != body.get("resourceId"):
                raise SimulatorError(404, "notFound", f"Channel '{body.get('id')}' not found for project.")
            del self.channels[channel["id"]]

    def _announce(self, account):
        now_ms = datetime.now(UTC).timestamp() * 1000
        for channel in list(self.channels.values()):
            if channel["account"] != account or int(channel["expiration"]) <= now_ms:
                continue
            headers = {"X-Goog-Channel-ID": channel["id"], "X-Goog-Channel-Expiration": channel["expiration"],
                       "X-Goog-Resource-ID": channel["resourceId"], "X-Goog-Resource-URI": channel["resourceUri"],
                       "X-Goog-Resource-State": "exists", "X-Goog-Message-Number": str(next(channel["messages"]))}
            if channel.get("token"):
                headers["X-Goog-Channel-Token"] = channel["token"]
            if self.notify is None:
                self.outbox.append((channel["address"], headers))
            else:
                self.notify(channel["address"], headers)

    # --- the person at the calendar (the sandbox page) -------------------------------------------------------

    def add_busy(self, account, title, start, end):
        """An event the user made in their calendar elsewhere (busy time Tutorhub should pull)."""
        if end <= start:
            raise SimulatorError(400, "invalid", "The end must be after the start.")
        body = {"summary": title or "Busy", "start": {"dateTime": rfc3339(start), "timeZone": "UTC"},
                "end": {"dateTime": rfc3339(end), "timeZone": "UTC"}}
        return self.insert(account, "primary", body)

    def snapshot(self):
        """Every calendar's events (live and cancelled), by account, in start order: for the page and tests."""
        with self.lock:
            return {account: sorted((public(e) for e in events.values()), key=lambda e: (_instant(e["start"]), e["id"]))
                    for account, events in sorted(self.calendars.items())}


def public(event):
    return {k: v for k, v in event.items() if not k.startswith("_")}


def ours(event):
    """Whether Tutorhub wrote the event (its private extended property)."""
    return ((event.get("extendedProperties") or {}).get("private") or {}).get("tutorhub") == "1"
