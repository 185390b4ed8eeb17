"""Calendar providers behind one interface (``base``): Google Calendar and Microsoft Graph (Outlook).

``PROVIDERS`` maps the name used in URLs and rows to the provider class; a provider plugs in with one line here.
Each class takes ``(config, http_factory=None)`` and answers ``configured(config)``."""
from flask import current_app

from app.calendars.providers.google import GoogleProvider
from app.calendars.providers.outlook import OutlookProvider

PROVIDERS = {
    "google": GoogleProvider,
    "outlook": OutlookProvider,
}


def names():
    return tuple(PROVIDERS)


def get(name):
    """The provider ``name`` built from the app's configuration; tests put a transport factory per provider name in
    ``app.extensions["calendar_transports"]`` (Google: an httplib2-like object, e.g. HttpMockSequence)."""
    transport = current_app.extensions.get("calendar_transports", {}).get(name)
    cls = PROVIDERS[name]
    return cls(current_app.config, transport) if transport else cls(current_app.config)


def configured(name):
    return PROVIDERS[name].configured(current_app.config)
