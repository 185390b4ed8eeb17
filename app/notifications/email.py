"""Email gateway: SMTP in production, .eml files under instance/outbox/ by default."""
import base64
import logging
import os
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app

log = logging.getLogger(__name__)


def build_message(outbox_message, sender):
    message = EmailMessage()
    message["From"] = sender
    message["To"] = outbox_message.recipient
    message["Subject"] = outbox_message.subject
    message["Message-ID"] = make_msgid(idstring=f"outbox-{outbox_message.id}", domain="tutorhub.local")
    message.set_content(outbox_message.body_text, cte=_transfer_encoding(outbox_message.body_text))
    if outbox_message.body_html:
        message.add_alternative(outbox_message.body_html, subtype="html")
    for attachment in outbox_message.attachments or []:
        maintype, _, subtype = attachment["content_type"].partition("/")
        message.add_attachment(
            base64.b64decode(attachment["content_b64"]),
            maintype=maintype,
            subtype=subtype,
            filename=attachment["filename"],
        )
    return message


def _transfer_encoding(text):
    """Plain 7bit when possible, so links and tokens stay readable and copyable in the raw message."""
    if text.isascii() and all(len(line) < 990 for line in text.splitlines()):
        return "7bit"
    return "quoted-printable"


class FileEmailBackend:
    """Writes each email as an .eml file and logs it: the embedded default."""

    def __init__(self, directory):
        self.directory = directory

    def send(self, message, outbox_id):
        os.makedirs(self.directory, exist_ok=True)
        path = os.path.join(self.directory, f"{outbox_id:08d}.eml")
        with open(path, "wb") as handle:
            handle.write(bytes(message))
        log.info("Email to %s (%s) written to %s", message["To"], message["Subject"], path)


class SMTPEmailBackend:
    def __init__(self, host, port, username=None, password=None, use_tls=False, use_ssl=False, timeout=15):
        self.host, self.port = host, port
        self.username, self.password = username, password
        self.use_tls, self.use_ssl, self.timeout = use_tls, use_ssl, timeout

    def send(self, message, outbox_id):
        smtp_class = smtplib.SMTP_SSL if self.use_ssl else smtplib.SMTP
        with smtp_class(self.host, self.port, timeout=self.timeout) as smtp:
            if self.use_tls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)


class EmailGateway:
    def __init__(self, backend, sender):
        self.backend = backend
        self.sender = sender

    @classmethod
    def from_config(cls, config=None):
        config = config or current_app.config
        if config["MAIL_BACKEND"] == "smtp":
            backend = SMTPEmailBackend(
                config["MAIL_SERVER"],
                config["MAIL_PORT"],
                config.get("MAIL_USERNAME"),
                config.get("MAIL_PASSWORD"),
                config.get("MAIL_USE_TLS", False),
                config.get("MAIL_USE_SSL", False),
            )
        else:
            backend = FileEmailBackend(config["MAIL_OUTBOX_DIR"])
        return cls(backend, config["MAIL_DEFAULT_SENDER"])

    def send(self, outbox_message):
        self.backend.send(build_message(outbox_message, self.sender), outbox_message.id)
