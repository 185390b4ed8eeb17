"""Local calendar simulators for development and tests: the HTTP subsets Tutorhub's calendar providers speak.

``google``: a Google account server (OAuth consent page and token endpoint, Calendar API v3 events and channels,
push notifications to watch channels), mounted by the factory at ``/calendar-sandbox`` when
``CALENDAR_SIMULATOR`` is on (``make run``), with a page listing each simulated calendar and a form adding busy
time. ``graph``: the Microsoft identity platform and Graph, which msal only reaches over https, so it runs as its
own HTTPS process (``python -m calendar_sandbox.graph``) or in-process at the transport (tests, bench).
State lives in memory. It imports nothing from the application (an import-linter contract holds it).
"""
import logging
import threading

import requests

from calendar_sandbox.google import GoogleSimulator
from calendar_sandbox.views import blueprint, standalone_app

__all__ = ["GoogleSimulator", "blueprint", "send_in_background", "standalone_app"]

log = logging.getLogger(__name__)


def send_in_background(url, headers, timeout=10):
    """Deliver one push notification as Google does (an empty POST with ``X-Goog-*`` headers), off the request
    that caused it; a receiver that is down only loses the notification (Tutorhub's poll catches up)."""
    def post():
        session = requests.Session()
        session.trust_env = False  # local receivers only, never through a proxy
        try:
            reply = session.post(url, headers=headers, timeout=timeout)
            log.info("calendar sandbox: notification to %s answered %s", url, reply.status_code)
        except requests.RequestException as error:
            log.warning("calendar sandbox: notification to %s failed: %s", url, error)

    threading.Thread(target=post, daemon=True, name="calendar-sandbox-notify").start()
