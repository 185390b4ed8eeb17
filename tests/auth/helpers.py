"""Helpers shared by the auth tests: signup payloads and reading tokens out of the emails sent."""
import re

from tests.conftest import email_text, read_emails

PASSWORD = "violet-harbour-lantern"


def signup_payload(**overrides):
    payload = {
        "email": "Ada.Lovelace@Example.com",
        "password": PASSWORD,
        "full_name": "Ada Lovelace",
        "roles": ["student"],
        "timezone": "Europe/London",
    }
    payload.update(overrides)
    return payload


def last_email_to(outbox_dir, recipient):
    matching = [m for m in read_emails(outbox_dir) if m["To"] == recipient]
    assert matching, f"no email to {recipient} in {outbox_dir}"
    return matching[-1]


def confirmation_token(outbox_dir, recipient):
    text = email_text(last_email_to(outbox_dir, recipient))
    match = re.search(r"POST /api/v1/auth/confirm-email:\n(\S+)\n", text)
    assert match, text
    return match.group(1)


def reset_code(outbox_dir, recipient):
    text = email_text(last_email_to(outbox_dir, recipient))
    match = re.search(r"reset code is (\d{6})\.", text)
    assert match, text
    return match.group(1)


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def login(client, email, password=PASSWORD):
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})
