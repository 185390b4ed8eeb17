"""The webhook endpoints: register (secret once, encrypted at rest), list, read, change, delete, rotate, ping, log."""
import json

import pytest

from app.common import crypto
from app.webhooks.models import Webhook
from tests.conftest import assert_error
from tests.factories import UserFactory

pytestmark = pytest.mark.usefixtures("fake_dns")
PUBLIC = "https://hooks.example.com/tutorhub"


def test_register_shows_the_secret_once_and_stores_it_encrypted(client, auth, hooks, owner, db):
    body = hooks.made(owner, PUBLIC, ["booking.confirmed", "review.published", "booking.confirmed"],
                      description="CRM sync")
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 40
    assert body["events"] == ["booking.confirmed", "review.published"]
    assert (body["scope"], body["active"], body["description"]) == ("own", True, "CRM sync")
    row = db.session.get(Webhook, body["id"])
    assert body["secret"] not in row.secret_encrypted
    assert crypto.decrypt(row.secret_encrypted) == body["secret"]
    shown = client.get(f"/api/v1/webhooks/{body['id']}", headers=auth.headers(owner)).get_json()
    assert "secret" not in shown and shown["url"] == PUBLIC
    listed = client.get("/api/v1/webhooks", headers=auth.headers(owner))
    assert all("secret" not in item for item in listed.get_json())


@pytest.mark.parametrize(("url", "reason"), [
    ("http://127.0.0.1:8080/hook", "loopback"),
    ("http://localhost/hook", "loopback"),
    ("http://[::1]/hook", "loopback"),
    ("http://10.1.2.3/hook", "private"),
    ("http://192.168.0.10/hook", "private"),
    ("http://169.254.169.254/latest/meta-data", "link-local"),
    ("http://224.0.0.1/hook", "multicast"),
    ("http://240.0.0.1/hook", "reserved"),
    ("http://0.0.0.0/hook", "unspecified"),
    ("http://[::ffff:127.0.0.1]/hook", "loopback"),
    ("https://rebind.example.com/hook", "private"),
    ("https://mixed.example.com/hook", "loopback"),
    ("https://nowhere.example.com/hook", "does not resolve"),
    ("https://bad..name/hook", "does not resolve"),
    ("ftp://hooks.example.com/file", "https://"),
    ("https://user:pw@hooks.example.com/hook", "credentials"),
    ("not a url at all", "https://"),
])
def test_unsafe_urls_are_refused_with_422(hooks, owner, db, url, reason):
    body = assert_error(hooks.create(owner, url), 422)
    assert reason in body["errors"]["url"][0]
    assert db.session.query(Webhook).count() == 0


def test_private_urls_pass_when_allowed(hooks, owner, allow_private):
    assert hooks.create(owner, "http://127.0.0.1:9/hook").status_code == 201


def test_https_required_when_configured(app, hooks, owner, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOKS_REQUIRE_HTTPS", True)
    assert "https" in assert_error(hooks.create(owner, "http://hooks.example.com/x"), 422)["errors"]["url"][0]
    assert hooks.create(owner, PUBLIC).status_code == 201


@pytest.mark.parametrize(("payload", "field"), [
    ({"url": PUBLIC, "events": ["booking.exploded"]}, "events"),
    ({"url": PUBLIC, "events": ["webhook.ping"]}, "events"),
    ({"url": PUBLIC, "events": []}, "events"),
    ({"url": PUBLIC}, "events"),
    ({"events": ["booking.confirmed"]}, "url"),
    ({"url": PUBLIC, "events": ["booking.confirmed"], "description": "x" * 201}, "description"),
    ({"url": PUBLIC, "events": ["booking.confirmed"], "scope": "everything"}, "scope"),
    ({"url": PUBLIC, "events": ["booking.confirmed"], "secret": "mine"}, "secret"),
    ({"url": PUBLIC + "/" + "a" * 2048, "events": ["booking.confirmed"]}, "url"),
    ({"url": PUBLIC, "events": "booking.confirmed"}, "events"),
])
def test_bad_input_is_422_by_field(client, auth, owner, payload, field):
    response = client.post("/api/v1/webhooks", headers=auth.headers(owner), json=payload)
    assert field in assert_error(response, 422)["errors"]


def test_unauthenticated_unconfirmed_and_scope_all(client, auth, hooks, db):
    assert_error(client.post("/api/v1/webhooks", json={"url": PUBLIC, "events": ["booking.confirmed"]}), 401)
    assert_error(client.get("/api/v1/webhooks"), 401)
    assert_error(hooks.create(UserFactory(email_confirmed_at=None), PUBLIC), 403, "confirm your email")
    assert_error(hooks.create(UserFactory(), PUBLIC, scope="all"), 403, "admin")
    assert hooks.made(UserFactory(roles=["admin"]), PUBLIC, scope="all")["scope"] == "all"


def test_at_most_webhooks_max_per_user(app, hooks, owner, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOKS_MAX_PER_USER", 2)
    hooks.made(owner, PUBLIC)
    hooks.made(owner, PUBLIC)
    assert_error(hooks.create(owner, PUBLIC), 409, "2 webhooks")
    assert hooks.create(UserFactory(), PUBLIC).status_code == 201  # the limit is per user


def test_list_is_mine_and_paginated(client, auth, hooks, owner):
    ids = [hooks.made(owner, PUBLIC + f"?n={n}")["id"] for n in range(3)]
    hooks.made(UserFactory(), PUBLIC)
    response = client.get("/api/v1/webhooks?page=1&page_size=2", headers=auth.headers(owner))
    assert [item["id"] for item in response.get_json()] == ids[:2]
    assert json.loads(response.headers["X-Pagination"])["total"] == 3
    second = client.get("/api/v1/webhooks?page=2&page_size=2", headers=auth.headers(owner)).get_json()
    assert [item["id"] for item in second] == ids[2:]
    assert_error(client.get("/api/v1/webhooks?page_size=101", headers=auth.headers(owner)), 422)
    assert_error(client.get("/api/v1/webhooks?page=0", headers=auth.headers(owner)), 422)


def test_another_users_webhook_is_404_everywhere(client, auth, hooks, owner, db):
    hook_id = hooks.made(owner, PUBLIC)["id"]
    other = auth.headers(UserFactory(roles=["admin"]))
    for method, path in (("get", ""), ("patch", ""), ("delete", ""), ("post", "/rotate-secret"), ("post", "/ping"),
                         ("get", "/deliveries")):
        kwargs = {"json": {"description": "mine now"}} if method == "patch" else {}
        response = getattr(client, method)(f"/api/v1/webhooks/{hook_id}{path}", headers=other, **kwargs)
        assert_error(response, 404)
    assert db.session.get(Webhook, hook_id).description == ""


@pytest.mark.parametrize("hook_id", ["999999", "99999999999999", "-1", "abc"])
def test_unknown_or_out_of_range_ids_are_404(client, auth, owner, hook_id):
    assert_error(client.get(f"/api/v1/webhooks/{hook_id}", headers=auth.headers(owner)), 404)


def test_patch_changes_only_what_is_sent(client, auth, hooks, owner):
    hook = hooks.made(owner, PUBLIC, ["booking.confirmed"], description="one")
    url = f"/api/v1/webhooks/{hook['id']}"
    body = client.patch(url, headers=auth.headers(owner), json={"events": ["payments.deposit_captured"]}).get_json()
    assert (body["events"], body["description"], body["url"]) == (["payments.deposit_captured"], "one", PUBLIC)
    assert_error(client.patch(url, headers=auth.headers(owner), json={"url": "http://10.0.0.1/x"}), 422)
    assert_error(client.patch(url, headers=auth.headers(owner), json={"events": ["nope.never"]}), 422)
    assert_error(client.patch(url, headers=auth.headers(owner), json={"events": []}), 422)
    assert_error(client.patch(url, headers=auth.headers(owner), json={"scope": "all"}), 403)
    assert_error(client.patch(url, headers=auth.headers(owner), json={"owner_id": 1}), 422)
    assert client.get(url, headers=auth.headers(owner)).get_json()["url"] == PUBLIC


def test_delete(client, auth, hooks, owner, db):
    hook_id = hooks.made(owner, PUBLIC)["id"]
    assert client.delete(f"/api/v1/webhooks/{hook_id}", headers=auth.headers(owner)).status_code == 204
    assert db.session.get(Webhook, hook_id) is None
    assert_error(client.delete(f"/api/v1/webhooks/{hook_id}", headers=auth.headers(owner)), 404)


def test_rotate_secret_shows_a_new_secret_once(client, auth, hooks, owner, db):
    hook = hooks.made(owner, PUBLIC)
    rotated = client.post(f"/api/v1/webhooks/{hook['id']}/rotate-secret", headers=auth.headers(owner)).get_json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != hook["secret"]
    assert rotated["secret_rotated_at"]
    db.session.expire_all()
    assert crypto.decrypt(db.session.get(Webhook, hook["id"]).secret_encrypted) == rotated["secret"]


def test_deliveries_query_is_validated(client, auth, hooks, owner):
    hook_id = hooks.made(owner, PUBLIC)["id"]
    url = f"/api/v1/webhooks/{hook_id}/deliveries"
    assert client.get(url, headers=auth.headers(owner)).get_json() == []
    assert_error(client.get(url + "?status=lost", headers=auth.headers(owner)), 422)
    assert_error(client.get(url + "?page_size=1000", headers=auth.headers(owner)), 422)
    assert_error(client.get(url), 401)


def test_ping_of_a_disabled_webhook_is_409(client, auth, hooks, owner):
    hook_id = hooks.made(owner, PUBLIC)["id"]
    client.patch(f"/api/v1/webhooks/{hook_id}", headers=auth.headers(owner), json={"active": False})
    assert_error(client.post(f"/api/v1/webhooks/{hook_id}/ping", headers=auth.headers(owner)), 409)


def test_the_openapi_document_explains_verification(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    tag = next(tag for tag in spec["tags"] if tag["name"] == "webhooks")
    assert "HMAC-SHA256" in tag["description"] and "Tutorhub-Signature" in tag["description"]
    assert {"/api/v1/webhooks", "/api/v1/webhooks/{webhook_id}/deliveries"} <= set(spec["paths"])
