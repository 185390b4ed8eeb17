"""A local Microsoft identity platform + Graph for the Outlook provider's tests and development, over real HTTPS.

msal only accepts https authorities, so ``LiveGraphStub`` serves a werkzeug app on 127.0.0.1:<free port> with a
self-signed certificate made at start (``ca_file`` is what the client's ``requests.Session.verify`` trusts).
Implemented: tenant discovery, ``/authorize`` (consents at once and redirects with a code, for live checks),
``/token`` (authorization_code with PKCE S256, refresh_token; ``revoke()`` makes both answer invalid_grant), and
Graph ``/me``, ``/me/events`` (transactionId dedupe), ``/me/calendarView/delta`` (pages + deltaLink; ``expire_delta
_tokens()`` → 410 syncStateNotFound), ``/subscriptions`` (POST/PATCH/DELETE). ``fail_next`` injects one error reply.
``validate_notification_urls`` makes subscribing do Graph's validationToken handshake with the receiver, and
``notify(subscription_id)`` posts a change notification to it (with its clientState, or another to test refusal).
Like Graph, creating an event with ``attendees`` sends each a meeting request, patching it an update, deleting it a
cancellation: recorded in ``mail`` as ``(kind, address, event id)``.
Every request is recorded in ``requests`` as ``(method, path)`` with its query and body for exact-sequence asserts.
For a live check (``python -m calendar_sandbox.graph [port]``, next to ``make run``) ``/sandbox`` lists the
calendar's events and adds (or removes) busy time as its owner would, notifying every subscription.
"""
import base64
import datetime as dt
import hashlib
import html
import ipaddress
import json
import os
import re
import secrets
import ssl
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from urllib.parse import urlencode

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from werkzeug.routing import Map, Rule
from werkzeug.serving import make_server
from werkzeug.test import EnvironBuilder, run_wsgi_app
from werkzeug.wrappers import Request, Response

UTC = dt.UTC
MAX_SUBSCRIPTION = dt.timedelta(minutes=4230)
PUBLIC_ENDPOINTS = ("discovery", "authorize", "token", "sandbox_page", "sandbox_busy", "sandbox_remove")
SANDBOX_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Outlook calendar sandbox</title>
<style>body{{font-family:sans-serif;max-width:52rem;margin:2rem auto}}td,th{{padding:.2rem .6rem;text-align:left}}</style>
</head><body><h1>Outlook calendar sandbox</h1>
<p>Local Microsoft Graph simulator (development only): the calendar of {email}. Busy time added here is announced
to Tutorhub's subscription (if it has one) and read by its next calendar view delta.</p>
<table><tr><th>start (UTC)</th><th>end</th><th>subject</th><th>show as</th><th></th></tr>{rows}</table>
<form method="post" action="{base}/sandbox/busy">Add busy time: <input name="title" value="Dentist" size="12">
start (UTC) <input name="start" type="datetime-local" required> minutes
<input name="minutes" type="number" value="60" min="5" max="1440" size="4"> <button>add</button></form>
</body></html>"""
KEY_FILTER = re.compile(r"singleValueExtendedProperties/Any\(ep: ep/id eq '([^']+)' and ep/value eq '((?:[^']|'')*)'\)")


@dataclass
class Recorded:
    method: str
    path: str
    query: dict
    body: object = None
    headers: dict = field(default_factory=dict)


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _json(status, payload, headers=None):
    return Response(json.dumps(payload), status=status, headers=headers, mimetype="application/json")


def _graph_error(status, code, message=""):
    return _json(status, {"error": {"code": code, "message": message or code}})


class GraphStub:
    """The state and the WSGI app; ``base_url`` is set by ``LiveGraphStub`` once the port is known."""

    def __init__(self, client_id, client_secret, email="tutor@contoso.test"):
        self.client_id, self.client_secret, self.email = client_id, client_secret, email
        self.base_url = ""
        self.page_size = 2
        self.expires_in = 3600
        self.validate_notification_urls = False  # True: POST /subscriptions does Graph's validationToken handshake
        self.lock = threading.Lock()
        self.url_map = Map([
            Rule("/<tenant>/v2.0/.well-known/openid-configuration", endpoint="discovery", methods=["GET"]),
            Rule("/<tenant>/oauth2/v2.0/authorize", endpoint="authorize", methods=["GET"]),
            Rule("/<tenant>/oauth2/v2.0/token", endpoint="token", methods=["POST"]),
            Rule("/v1.0/me", endpoint="me", methods=["GET"]),
            Rule("/v1.0/me/events", endpoint="create_event", methods=["POST"]),
            Rule("/v1.0/me/events", endpoint="find_events", methods=["GET"]),
            Rule("/v1.0/me/events/<event_id>", endpoint="event", methods=["PATCH", "DELETE", "GET"]),
            Rule("/v1.0/me/calendarView/delta", endpoint="delta", methods=["GET"]),
            Rule("/v1.0/subscriptions", endpoint="create_subscription", methods=["POST"]),
            Rule("/v1.0/subscriptions/<subscription_id>", endpoint="subscription", methods=["PATCH", "DELETE"]),
            Rule("/sandbox", endpoint="sandbox_page", methods=["GET"]),
            Rule("/sandbox/busy", endpoint="sandbox_busy", methods=["POST"]),
            Rule("/sandbox/events/<event_id>/delete", endpoint="sandbox_remove", methods=["POST"]),
        ])
        self.reset()

    def reset(self):
        with self.lock:
            self.requests = []
            self.codes = {}  # code -> {challenge, redirect_uri, scope}
            self.refresh_tokens = set()
            self.access_tokens = set()
            self.revoked = False
            self.events = {}  # id -> event
            self.transactions = {}  # transactionId -> event id
            self.changes = []  # event ids in the order they changed (the delta log)
            self.delta_states = {}  # token -> {since, start, end, items?, offset}
            self.subscriptions = {}
            self.failures = []
            self.counter = 0
            self.mail = []  # ("request" | "update" | "cancellation", address, event id): what Graph would email attendees

    # -- test controls ---------------------------------------------------------------------------------------

    def issue_code(self, challenge, redirect_uri, scope="Calendars.ReadWrite User.Read"):
        """What the user's consent at /authorize yields: a one-time code bound to the PKCE challenge."""
        code = "code-" + secrets.token_urlsafe(8)
        self.codes[code] = {"challenge": challenge, "redirect_uri": redirect_uri, "scope": scope}
        return code

    def revoke(self):
        """The user revoked the app (or the refresh token expired): every grant answers invalid_grant."""
        self.revoked = True
        self.access_tokens.clear()

    def expire_access_tokens(self):
        self.access_tokens.clear()

    def expire_delta_tokens(self):
        self.delta_states.clear()

    def fail_next(self, status, path_contains="", headers=None, code="ServiceUnavailable"):
        self.failures.append((path_contains, status, headers or {}, code))

    def add_event(self, subject, start, end, show_as="busy", categories=()):
        """An event the user made in Outlook (not through Tutorhub)."""
        with self.lock:
            return self._store({"subject": subject, "start": _dtz(start), "end": _dtz(end), "showAs": show_as,
                                "categories": list(categories)})["id"]

    def change_event(self, event_id, **fields):
        with self.lock:
            self.events[event_id].update(fields)
            self.changes.append(event_id)

    def remove_event(self, event_id):
        with self.lock:
            self._remove(event_id)

    def notify(self, subscription_id, change_type="updated", event_id=None, client_state=None):
        """Send a change notification to a subscription's notificationUrl, as Graph does; the receiver's reply."""
        subscription = self.subscriptions[subscription_id]
        item = {"subscriptionId": subscription_id, "changeType": change_type,
                "clientState": subscription.get("clientState") if client_state is None else client_state,
                "resource": f"Users/uid-1/Events/{event_id or 'AAMkEvent0000'}",
                "subscriptionExpirationDateTime": subscription["expirationDateTime"], "tenantId": "tid-1",
                "resourceData": {"@odata.type": "#Microsoft.Graph.Event", "id": event_id or "AAMkEvent0000"}}
        return self._session().post(subscription["notificationUrl"], json={"value": [item]}, timeout=10)

    def _validate_notification_url(self, url):
        """Graph's handshake before it creates a subscription: the URL must echo the token as text/plain."""
        token = "Validation: " + secrets.token_urlsafe(8)
        try:
            reply = self._session().post(url, params={"validationToken": token}, timeout=10,
                                         headers={"Content-Type": "text/plain"})
        except requests.RequestException as exc:
            return f"Subscription validation request failed: {exc.__class__.__name__}"
        if reply.status_code != 200 or reply.text != token or not reply.headers.get(
                "Content-Type", "").startswith("text/plain"):
            return f"Subscription validation request failed: {reply.status_code} {reply.text[:80]!r}"
        return None

    @staticmethod
    def _session():
        session = requests.Session()
        session.trust_env = False  # local receivers only, never through a proxy
        return session

    def calls(self):
        return [(r.method, r.path) for r in self.requests]

    # -- WSGI ------------------------------------------------------------------------------------------------

    def __call__(self, environ, start_response):
        request = Request(environ)
        body = request.get_json(silent=True) if request.is_json else (request.form.to_dict() or None)
        self.requests.append(Recorded(request.method, request.path, request.args.to_dict(), body,
                                      dict(request.headers)))
        for index, (fragment, status, headers, code) in enumerate(self.failures):
            if fragment in request.path:
                del self.failures[index]
                return _json(status, {"error": {"code": code, "message": code}}, headers)(environ, start_response)
        adapter = self.url_map.bind_to_environ(environ)
        endpoint, values = adapter.match()
        if endpoint == "create_subscription" and self.validate_notification_urls and self._authorized(request):
            refused = self._validate_notification_url((body or {}).get("notificationUrl"))
            if refused:
                return _graph_error(400, "ValidationError", refused)(environ, start_response)
        with self.lock:
            if endpoint not in PUBLIC_ENDPOINTS and not self._authorized(request):
                response = _graph_error(401, "InvalidAuthenticationToken", "Access token has expired or is not valid")
            else:
                response = getattr(self, "on_" + endpoint)(request, body, **values)
        return response(environ, start_response)

    def _authorized(self, request):
        header = request.headers.get("Authorization", "")
        return header.startswith("Bearer ") and header[7:] in self.access_tokens

    # -- identity --------------------------------------------------------------------------------------------

    def on_discovery(self, request, body, tenant):
        root = f"{self.base_url}/{tenant}"
        return _json(200, {
            "issuer": f"{root}/v2.0", "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
            "token_endpoint": f"{root}/oauth2/v2.0/token", "jwks_uri": f"{root}/discovery/v2.0/keys",
            "response_types_supported": ["code"], "code_challenge_methods_supported": ["S256"],
        })

    def on_authorize(self, request, body, tenant):
        args = request.args
        if args.get("client_id") != self.client_id or args.get("code_challenge_method") != "S256":
            return _json(400, {"error": "invalid_request"})
        code = self.issue_code(args["code_challenge"], args["redirect_uri"], args.get("scope", ""))
        reply = {"code": code, "state": args.get("state", "")}
        if args.get("response_mode") == "form_post":  # the browser posts the code to the callback
            fields = "".join(f'<input type="hidden" name="{k}" value="{html.escape(v)}">' for k, v in reply.items())
            page = (f'<html><body onload="document.forms[0].submit()"><form method="post" '
                    f'action="{html.escape(args["redirect_uri"])}">{fields}</form></body></html>')
            return Response(page, mimetype="text/html")
        return Response(status=302, headers={"Location": f"{args['redirect_uri']}?{urlencode(reply)}"})

    def on_token(self, request, body, tenant):
        form = request.form
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return _json(401, {"error": "invalid_client", "error_description": "AADSTS7000215: bad secret"})
        grant = form.get("grant_type")
        if grant == "authorization_code":
            issued = self.codes.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier", "")
            if self.revoked or issued is None or issued["redirect_uri"] != form.get("redirect_uri"):
                return _json(400, {"error": "invalid_grant", "error_description": "AADSTS70000: bad code"})
            if _b64(hashlib.sha256(verifier.encode()).digest()) != issued["challenge"]:
                return _json(400, {"error": "invalid_grant", "error_description": "AADSTS501481: PKCE mismatch"})
            return self._tokens(issued["scope"])
        if grant == "refresh_token":
            if self.revoked or form.get("refresh_token") not in self.refresh_tokens:
                return _json(400, {"error": "invalid_grant", "error_description": "AADSTS700082: expired"})
            self.refresh_tokens.discard(form["refresh_token"])
            return self._tokens(form.get("scope", ""))
        return _json(400, {"error": "unsupported_grant_type"})

    def _tokens(self, scope):
        access, refresh = "at-" + secrets.token_urlsafe(12), "rt-" + secrets.token_urlsafe(12)
        self.access_tokens.add(access)
        self.refresh_tokens.add(refresh)
        now = int(dt.datetime.now(UTC).timestamp())
        claims = {"iss": f"{self.base_url}/tid-1/v2.0", "aud": self.client_id, "sub": "sub-1", "oid": "uid-1",
                  "tid": "tid-1", "preferred_username": self.email, "name": "Test Tutor", "iat": now,
                  "nbf": now, "exp": now + 3600}
        id_token = ".".join([_b64(b'{"alg":"none","typ":"JWT"}'), _b64(json.dumps(claims).encode()), ""])
        scopes = [s for s in scope.split() if s not in ("openid", "profile", "offline_access")]
        return _json(200, {
            "token_type": "Bearer", "scope": " ".join(scopes) or "Calendars.ReadWrite User.Read",
            "expires_in": self.expires_in, "ext_expires_in": self.expires_in, "access_token": access,
            "refresh_token": refresh, "id_token": id_token,
            "client_info": _b64(json.dumps({"uid": "uid-1", "utid": "tid-1"}).encode()),
        })

    # -- Graph: me and events --------------------------------------------------------------------------------

    def on_me(self, request, body):
        return _json(200, {"id": "uid-1", "mail": self.email, "userPrincipalName": self.email})

    def _store(self, fields):
        self.counter += 1
        event = {"id": f"AAMkEvent{self.counter:04d}", "isCancelled": False, "categories": [], **fields}
        self.events[event["id"]] = event
        self.changes.append(event["id"])
        return event

    def _mail(self, kind, event, attendees):
        self.mail += [(kind, attendee["emailAddress"]["address"], event["id"]) for attendee in attendees or ()]

    def _remove(self, event_id):
        event = self.events.pop(event_id)
        self.transactions.pop(event.get("transactionId"), None)
        self.changes.append(event_id)

    def on_create_event(self, request, body):
        if not body or not body.get("subject") or not body.get("start") or not body.get("end"):
            return _graph_error(400, "ErrorInvalidRequest", "subject, start and end are required")
        existing = self.transactions.get(body.get("transactionId"))
        if existing in self.events:
            return _json(201, self.events[existing])
        event = self._store(body)
        self._mail("request", event, event.get("attendees"))
        if body.get("transactionId"):
            self.transactions[body["transactionId"]] = event["id"]
        return _json(201, event)

    def on_find_events(self, request, body):
        """``$filter=singleValueExtendedProperties/Any(ep: ep/id eq '<id>' and ep/value eq '<value>')`` only (the
        one filter the provider sends; Graph compares the value case-insensitively)."""
        match = KEY_FILTER.fullmatch(request.args.get("$filter", ""))
        if not match:
            return _graph_error(400, "ErrorInvalidUrlQueryFilter", "Only the key-property filter is supported.")
        property_id, value = match.group(1), match.group(2).replace("''", "'")
        found = [event for event in self.events.values()
                 if any(p.get("id") == property_id and str(p.get("value", "")).lower() == value.lower()
                        for p in event.get("singleValueExtendedProperties") or ())]
        top = int(request.args.get("$top", len(found) or 1))
        return _json(200, {"value": [{"id": event["id"]} for event in found[:top]]})

    def on_event(self, request, body, event_id):
        if event_id not in self.events:
            return _graph_error(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        if request.method == "GET":
            return _json(200, self.events[event_id])
        if request.method == "DELETE":
            self._mail("cancellation", self.events[event_id], self.events[event_id].get("attendees"))
            self._remove(event_id)
            return Response(status=204)
        fields = {k: v for k, v in (body or {}).items() if k != "transactionId"}
        self.events[event_id].update(fields)
        self._mail("update", self.events[event_id], self.events[event_id].get("attendees"))
        self.changes.append(event_id)
        return _json(200, self.events[event_id])

    # -- the sandbox page: the calendar as its owner sees it, and busy time they add ---------------------------

    def on_sandbox_page(self, request, body):
        events = sorted(self.events.values(), key=lambda e: (e["start"]["dateTime"] or "", e["id"]))
        if request.args.get("format") == "json":
            return _json(200, events)
        rows = "".join(
            f"<tr><td>{html.escape(str(e['start']['dateTime']))}</td><td>{html.escape(str(e['end']['dateTime']))}</td>"
            f"<td>{html.escape(str(e.get('subject')))}</td><td>{html.escape(str(e.get('showAs', 'busy')))}"
            f"{' (Tutorhub)' if 'Tutorhub' in (e.get('categories') or []) else ''}</td><td>"
            + ("" if "Tutorhub" in (e.get("categories") or []) else
               f'<form method="post" action="{self.base_url}/sandbox/events/{html.escape(e["id"])}/delete">'
               "<button>remove</button></form>") + "</td></tr>" for e in events) or '<tr><td colspan="5">No events.</td></tr>'
        return Response(SANDBOX_PAGE.format(email=html.escape(self.email), rows=rows, base=self.base_url),
                        mimetype="text/html")

    def on_sandbox_busy(self, request, body):
        try:
            start = dt.datetime.fromisoformat(request.form.get("start", "")).replace(tzinfo=UTC)
            minutes = int(request.form.get("minutes", "60"))
        except ValueError:
            return _json(400, {"error": "start must be YYYY-MM-DDTHH:MM (UTC) and minutes a number"})
        if not 1 <= minutes <= 1440:
            return _json(400, {"error": "minutes must be between 1 and 1440"})
        event = self._store({"subject": request.form.get("title", "Busy")[:200], "start": _dtz(start),
                             "end": _dtz(start + dt.timedelta(minutes=minutes)), "showAs": "busy", "categories": []})
        self._announce("created", event["id"])
        return Response(status=303, headers={"Location": f"{self.base_url}/sandbox"})

    def on_sandbox_remove(self, request, body, event_id):
        if event_id not in self.events:
            return _graph_error(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        self._remove(event_id)
        self._announce("deleted", event_id)
        return Response(status=303, headers={"Location": f"{self.base_url}/sandbox"})

    def _announce(self, change_type, event_id):
        """A change the owner made: every subscription is notified, off the request (Graph sends them later)."""
        def send():
            for subscription_id in list(self.subscriptions):
                try:
                    self.notify(subscription_id, change_type, event_id)
                except requests.RequestException:
                    pass  # the receiver is down: its next poll reads the change
        threading.Thread(target=send, daemon=True, name="graph-sandbox-notify").start()

    # -- Graph: calendar view delta --------------------------------------------------------------------------

    def on_delta(self, request, body):
        args = request.args
        if "$skiptoken" in args or "$deltatoken" in args:
            token = args.get("$skiptoken") or args.get("$deltatoken")
            state = self.delta_states.get(token)
            if state is None:
                return _graph_error(410, "syncStateNotFound", "The sync state is not found or has expired.")
            if "$deltatoken" in args:
                state = {**state, "items": self._items_since(state), "offset": 0, "since": len(self.changes)}
        else:
            if "startDateTime" not in args or "endDateTime" not in args:
                return _graph_error(400, "ErrorInvalidParameter", "startDateTime and endDateTime are required")
            start, end = _parse(args["startDateTime"]), _parse(args["endDateTime"])
            items = [e for e in self.events.values() if _overlaps(e, start, end)]
            state = {"start": start, "end": end, "items": items, "offset": 0, "since": len(self.changes)}
        return self._delta_page(request, state)

    def _items_since(self, state):
        seen, items = set(), []
        for event_id in reversed(self.changes[state["since"]:]):
            if event_id in seen:
                continue
            seen.add(event_id)
            event = self.events.get(event_id)
            if event is None or not _overlaps(event, state["start"], state["end"]):
                items.append({"id": event_id, "@removed": {"reason": "deleted"}})
            else:
                items.append(event)
        return list(reversed(items))

    def _delta_page(self, request, state):
        page = state["items"][state["offset"]:state["offset"] + self.page_size]
        rest = state["offset"] + self.page_size
        url = f"{self.base_url}/v1.0/me/calendarView/delta"
        token = secrets.token_urlsafe(8)
        if rest < len(state["items"]):
            self.delta_states[token] = {**state, "offset": rest}
            return _json(200, {"value": page, "@odata.nextLink": f"{url}?$skiptoken={token}"})
        self.delta_states[token] = {"start": state["start"], "end": state["end"], "since": state["since"]}
        return _json(200, {"value": page, "@odata.deltaLink": f"{url}?$deltatoken={token}"})

    # -- Graph: subscriptions --------------------------------------------------------------------------------

    def on_create_subscription(self, request, body):
        body = body or {}
        missing = [k for k in ("changeType", "notificationUrl", "resource", "expirationDateTime") if not body.get(k)]
        if missing:
            return _graph_error(400, "InvalidRequest", f"missing {', '.join(missing)}")
        if _parse(body["expirationDateTime"]) > dt.datetime.now(UTC) + MAX_SUBSCRIPTION:
            return _graph_error(400, "InvalidRequest", "expirationDateTime beyond the maximum for events")
        self.counter += 1
        subscription = {"id": f"sub-{self.counter:04d}", **body}
        self.subscriptions[subscription["id"]] = subscription
        return _json(201, subscription)

    def on_subscription(self, request, body, subscription_id):
        if subscription_id not in self.subscriptions:
            return _graph_error(404, "ResourceNotFound", "The object was not found.")
        if request.method == "DELETE":
            del self.subscriptions[subscription_id]
            return Response(status=204)
        expiry = (body or {}).get("expirationDateTime")
        if not expiry or _parse(expiry) > dt.datetime.now(UTC) + MAX_SUBSCRIPTION:
            return _graph_error(400, "InvalidRequest", "bad expirationDateTime")
        self.subscriptions[subscription_id]["expirationDateTime"] = expiry
        return _json(200, self.subscriptions[subscription_id])


def _parse(text):
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _dtz(value):
    return {"dateTime": value.astimezone(UTC).replace(tzinfo=None).isoformat() + ".0000000", "timeZone": "UTC"}


def _overlaps(event, start, end):
    if event["start"]["dateTime"] is None:  # a test's stand-in for Graph's "changed outside the window" rows
        return True
    return _parse(event["start"]["dateTime"][:19]) < end and _parse(event["end"]["dateTime"][:19]) > start


def _self_signed(directory):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "graph-stub.local")])
    now = dt.datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    with open(cert_file, "wb") as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_file, "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return cert_file, key_file


class LiveGraphStub:
    """``GraphStub`` on https://127.0.0.1:<free port> in a thread; ``config()`` points the provider at it."""

    def __init__(self, client_id="stub-client-id", client_secret="stub-client-secret", port=0):
        self._dir = tempfile.TemporaryDirectory(prefix="graph-stub-")
        self.ca_file, key_file = _self_signed(self._dir.name)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.ca_file, key_file)
        self.stub = GraphStub(client_id, client_secret)
        self.server = make_server("127.0.0.1", port, self.stub, threaded=True, ssl_context=context)
        self.base_url = self.stub.base_url = f"https://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def config(self, **overrides):
        return {"MS_CLIENT_ID": self.stub.client_id, "MS_CLIENT_SECRET": self.stub.client_secret,
                "MS_TENANT": "common", "MS_AUTHORITY_BASE": self.base_url, "MS_GRAPH_BASE": f"{self.base_url}/v1.0",
                "MS_TIMEOUT_SECONDS": 5, **overrides}

    def stop(self):
        self.server.shutdown()
        self.thread.join(5)
        self._dir.cleanup()


class WsgiTransport(requests.adapters.BaseAdapter):
    """A ``requests`` transport that hands each request to a WSGI app in this process (no socket, no TLS): the
    stub at the transport, for benchmarks with many calendars. Mount it on the stub's (fake) https base URL."""

    def __init__(self, app):
        super().__init__()
        self.app = app

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        parts = requests.utils.urlparse(request.url)
        body = request.body.encode() if isinstance(request.body, str) else request.body
        environ = EnvironBuilder(path=parts.path, query_string=parts.query, method=request.method,
                                 base_url=f"{parts.scheme}://{parts.netloc}", headers=dict(request.headers),
                                 data=body or b"").get_environ()
        chunks, status, headers = run_wsgi_app(self.app, environ)
        response = requests.Response()
        response.status_code = int(status.split()[0])
        response.reason = status.split(" ", 1)[1] if " " in status else ""
        response.headers = requests.structures.CaseInsensitiveDict(headers.items())
        response._content = b"".join(chunks)
        response.url, response.request, response.encoding = request.url, request, "utf-8"
        return response

    def close(self):
        pass


def in_process(client_id="stub-client-id", client_secret="stub-client-secret", base_url="https://graph.stub"):
    """A ``GraphStub`` and a ``requests.Session`` reaching it through ``WsgiTransport``; ``config`` for the
    provider. Returns (stub, session, config)."""
    stub = GraphStub(client_id, client_secret)
    stub.base_url = base_url
    session = requests.Session()
    session.trust_env = False
    session.mount(base_url, WsgiTransport(stub))
    config = {"MS_CLIENT_ID": client_id, "MS_CLIENT_SECRET": client_secret, "MS_TENANT": "common",
              "MS_AUTHORITY_BASE": base_url, "MS_GRAPH_BASE": f"{base_url}/v1.0"}
    return stub, session, config


def main(argv=None):
    """Serve the stub for a live check: ``python -m calendar_sandbox.graph [port] > graph.env``; prints the settings
    as an env file (``TUTORHUB_ENV_FILE=graph.env CALENDAR_SIMULATOR=1 make run`` reads it)."""
    port = int((argv or sys.argv[1:] or ["0"])[0])
    live = LiveGraphStub(port=port)
    live.stub.validate_notification_urls = True
    print(f"# Outlook simulator on {live.base_url} (its page: {live.base_url}/sandbox); the settings that point Tutorhub at "
          "it, REQUESTS_CA_BUNDLE so its requests trust the simulator's certificate (an env file)", flush=True)
    for key, value in {**live.config(), "REQUESTS_CA_BUNDLE": live.ca_file}.items():
        print(f"{key}={value}", flush=True)
    try:
        live.thread.join()
    except KeyboardInterrupt:
        live.stop()


if __name__ == "__main__":
    main()
