"""SMS gateway: an HTTP provider (JSON POST with a bearer key) or the console by default."""
import logging

import requests
from flask import current_app

log = logging.getLogger(__name__)


class ConsoleSMSBackend:
    def send(self, to, body):
        log.info("SMS to %s: %s", to, body)


class HTTPSMSBackend:
    """Posts {from, to, body} to SMS_API_URL; any non-2xx answer is a failed delivery."""

    def __init__(self, url, api_key, sender, timeout=10, session=None):
        self.url, self.api_key, self.sender, self.timeout = url, api_key, sender, timeout
        self.session = session or requests.Session()

    def send(self, to, body):
        response = self.session.post(
            self.url,
            json={"from": self.sender, "to": to, "body": body},
            headers={"Authorization": f"Bearer {self.api_key}"},
            timeout=self.timeout,
        )
        response.raise_for_status()


class SMSGateway:
    def __init__(self, backend):
        self.backend = backend

    @classmethod
    def from_config(cls, config=None):
        config = config or current_app.config
        if config["SMS_BACKEND"] == "http":
            return cls(HTTPSMSBackend(config["SMS_API_URL"], config["SMS_API_KEY"], config["SMS_FROM"]))
        return cls(ConsoleSMSBackend())

    def send(self, outbox_message):
        self.backend.send(outbox_message.recipient, outbox_message.body_text)
