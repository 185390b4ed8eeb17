"""The simulator's HTTP face: Google's OAuth and Calendar API paths under ``<prefix>/google``, the consent page a
person clicks, and the sandbox page (``<prefix>/``) listing each simulated calendar with a form to add busy time."""
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from flask import Blueprint, Flask, abort, jsonify, redirect, render_template_string, request, url_for

from calendar_sandbox.google import OAuthError, SimulatorError, ours

CONSENT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Calendar sandbox: sign in with Google</title>
<style>body{font-family:sans-serif;max-width:30rem;margin:4rem auto}button{font-size:1.1rem;padding:.4rem 1.2rem}
input{font-size:1rem;width:100%}</style></head><body>
<h1>Calendar sandbox</h1>
<p>Local Google simulator (development only). <strong>Tutorhub</strong> asks to manage the events of calendars
you own (<code>{{ scope }}</code>).</p>
<form method="post">
{% for name, value in hidden.items() %}<input type="hidden" name="{{ name }}" value="{{ value }}">{% endfor %}
<p><label>Simulated Google account<br><input name="account" value="{{ account }}"></label></p>
<button name="decision" value="allow">Allow</button> <button name="decision" value="deny">Deny</button>
</form></body></html>"""

CALENDARS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Calendar sandbox</title>
<style>body{font-family:sans-serif;max-width:52rem;margin:2rem auto}td,th{padding:.2rem .6rem;text-align:left}
.cancelled{color:#999;text-decoration:line-through}</style></head><body>
<h1>Calendar sandbox</h1>
<p>Local Google Calendar simulator (development only): the calendars connected through it, as their owners would
see them. Events written by Tutorhub are marked. Busy time added here reaches Tutorhub through its push channel
(or the next poll).</p>
{% for account, events in calendars.items() %}
<h2>{{ account }}</h2>
<table><tr><th>start (UTC)</th><th>end</th><th>title</th><th>status</th><th></th></tr>
{% for e in events %}<tr class="{{ e.status }}" id="event-{{ e.id }}"><td>{{ e.start.dateTime }}</td><td>{{ e.end.dateTime }}</td>
<td>{{ e.summary }}</td><td>{{ e.status }}{% if ours(e) %} (Tutorhub){% endif %}</td>
<td>{% if e.status != "cancelled" and not ours(e) %}<form method="post"
action="{{ url_for('.remove_busy', account=account, event_id=e.id) }}"><button>remove</button></form>{% endif %}</td></tr>
{% else %}<tr><td colspan="5">No events.</td></tr>{% endfor %}</table>
<form method="post" action="{{ url_for('.add_busy', account=account) }}">
Add busy time: <input name="title" value="Dentist" size="12">
start (UTC) <input name="start" type="datetime-local" value="{{ default_start }}" required>
minutes <input name="minutes" type="number" value="60" min="5" max="1440" size="4"> <button>add</button></form>
{% else %}<p>No calendar connected yet: connect one from Tutorhub (<code>POST /api/v1/calendar/connections/google</code>).</p>
{% endfor %}</body></html>"""


class GoogleViews:
    """Google's paths, each answering from ``simulator``."""

    def __init__(self, simulator):
        self.simulator = simulator

    def api(self, produce, status=200):
        try:
            self.simulator.requests.append((request.method, request.path))
            account = self.simulator.account_for(request.headers.get("Authorization"))
            body = produce(account)
        except SimulatorError as error:
            return jsonify(error.body), error.status
        return ("", 204) if body is None else (jsonify(body), status)

    def authorize(self):
        args = request.values
        try:
            self.simulator.check_client(args.get("client_id"))
        except OAuthError as error:
            return jsonify(error.body), 400
        redirect_uri = args.get("redirect_uri") or ""
        if not redirect_uri.startswith(("http://", "https://")):
            return jsonify(error="invalid_request", error_description="redirect_uri is required."), 400
        if request.method == "GET":
            hidden = {k: args.get(k, "") for k in ("client_id", "redirect_uri", "state", "scope", "code_challenge",
                                                    "code_challenge_method")}
            account = args.get("login_hint") or f"calendar-{len(self.simulator.calendars) + 1}@sandbox.test"
            return render_template_string(CONSENT_PAGE, hidden=hidden, account=account, scope=args.get("scope"))
        reply = {"state": args.get("state", "")}
        if request.form.get("decision") != "allow":
            reply["error"] = "access_denied"
        else:
            try:
                reply["code"] = self.simulator.consent(args.get("account"), redirect_uri, args.get("code_challenge"),
                                                       args.get("code_challenge_method"), args.get("scope"))
            except OAuthError as error:
                return jsonify(error.body), error.status
            reply["scope"] = args.get("scope", "")
        return redirect(f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{urlencode(reply)}")

    def token(self):
        basic = None
        if request.authorization and request.authorization.type == "basic":
            basic = (request.authorization.username, request.authorization.password)
        try:
            return jsonify(self.simulator.token(request.form, basic))
        except OAuthError as error:
            return jsonify(error.body), error.status

    def events(self, calendar_id):
        if request.method == "POST":
            return self.api(lambda account: self.simulator.insert(account, calendar_id, request.get_json(silent=True)))
        return self.api(lambda account: self.simulator.list(account, calendar_id, request.args))

    def event(self, calendar_id, event_id):
        sim = self.simulator
        if request.method == "PATCH":
            return self.api(lambda account: sim.patch(account, calendar_id, event_id, request.get_json(silent=True)))
        if request.method == "DELETE":
            return self.api(lambda account: sim.delete(account, calendar_id, event_id))
        return self.api(lambda account: sim.get(account, calendar_id, event_id))

    def watch(self, calendar_id):
        base = request.host_url.rstrip("/") + request.path.rsplit("/calendars/", 1)[0]
        return self.api(lambda account: self.simulator.watch(account, calendar_id, request.get_json(silent=True),
                                                             base))

    def stop(self):
        return self.api(lambda account: self.simulator.stop(account, request.get_json(silent=True)))

    # --- the sandbox page -------------------------------------------------------------------------------------

    def page(self):
        calendars = self.simulator.snapshot()
        if request.accept_mimetypes.best == "application/json" or request.args.get("format") == "json":
            return jsonify(calendars)
        start = (datetime.now(UTC) + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
        return render_template_string(CALENDARS_PAGE, calendars=calendars, ours=ours,
                                      default_start=start.strftime("%Y-%m-%dT%H:%M"))

    def add_busy(self, account):
        if account not in self.simulator.calendars:
            abort(404)
        try:
            start = datetime.fromisoformat(request.form.get("start", "")).replace(tzinfo=UTC)
            minutes = int(request.form.get("minutes", "60"))
        except ValueError:
            return jsonify(error="start must be YYYY-MM-DDTHH:MM (UTC) and minutes a number"), 400
        if not 1 <= minutes <= 1440:
            return jsonify(error="minutes must be between 1 and 1440"), 400
        try:
            self.simulator.add_busy(account, request.form.get("title", "Busy")[:200], start,
                                    start + timedelta(minutes=minutes))
        except SimulatorError as error:
            return jsonify(error.body), error.status
        return redirect(url_for(".page"))

    def remove_busy(self, account, event_id):
        try:
            self.simulator.delete(account, "primary", event_id)
        except SimulatorError as error:
            return jsonify(error.body), error.status
        return redirect(url_for(".page"))


GOOGLE_ROUTES = (
    ("/google/o/oauth2/auth", "authorize", ["GET", "POST"]),
    ("/google/token", "token", ["POST"]),
    ("/google/calendar/v3/calendars/<calendar_id>/events", "events", ["GET", "POST"]),
    ("/google/calendar/v3/calendars/<calendar_id>/events/watch", "watch", ["POST"]),
    ("/google/calendar/v3/calendars/<calendar_id>/events/<event_id>", "event", ["GET", "PATCH", "DELETE"]),
    ("/google/calendar/v3/channels/stop", "stop", ["POST"]),
    ("/", "page", ["GET"]),
    ("/google/calendars/<account>/busy", "add_busy", ["POST"]),
    ("/google/calendars/<account>/events/<event_id>/delete", "remove_busy", ["POST"]),
)


def blueprint(google, url_prefix="/calendar-sandbox"):
    """A blueprint serving the Google simulator ``google`` under ``url_prefix``."""
    bp = Blueprint("calendar_sandbox", __name__, url_prefix=url_prefix or None)
    views = GoogleViews(google)
    for rule, name, methods in GOOGLE_ROUTES:
        bp.add_url_rule(rule, name, getattr(views, name), methods=methods)
    return bp


def standalone_app(google, url_prefix=""):
    """The simulator as its own WSGI app (tests serve it with werkzeug's ``make_server``)."""
    app = Flask(__name__)
    app.register_blueprint(blueprint(google, url_prefix=url_prefix))
    return app

