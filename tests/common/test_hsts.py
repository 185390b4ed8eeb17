"""Strict-Transport-Security: sent over HTTPS (directly or per a trusted proxy), never over plain HTTP."""
import pytest
from flask import Flask

from app import configure_proxy

HSTS = "Strict-Transport-Security"


def test_api_over_https_sends_hsts(client):
    response = client.get("/api/v1/health", base_url="https://api.example.com")
    assert response.headers[HSTS] == "max-age=31536000"


def test_portal_over_https_sends_hsts(client):
    response = client.get("/admin/login", base_url="https://admin.example.com")
    assert response.status_code == 200
    assert response.headers[HSTS] == "max-age=31536000"


def test_plain_http_sends_no_hsts(client):
    assert HSTS not in client.get("/api/v1/health").headers
    assert HSTS not in client.get("/admin/login").headers


def test_errors_over_https_carry_hsts_too(client):
    response = client.get("/api/v1/nowhere", base_url="https://api.example.com")
    assert response.status_code == 404
    assert HSTS in response.headers


def test_max_age_and_subdomains_are_configurable(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "HSTS_MAX_AGE", 600)
    monkeypatch.setitem(app.config, "HSTS_INCLUDE_SUBDOMAINS", True)
    response = client.get("/admin/login", base_url="https://admin.example.com")
    assert response.headers[HSTS] == "max-age=600; includeSubDomains"


def test_max_age_zero_sends_no_header(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "HSTS_MAX_AGE", 0)
    assert HSTS not in client.get("/api/v1/health", base_url="https://api.example.com").headers


def _proxied_app(hops):
    app = Flask(__name__)
    app.config.update(PROXY_FIX_X_FOR=hops, PROXY_FIX_X_PROTO=hops, HSTS_MAX_AGE=31536000)
    configure_proxy(app)
    app.add_url_rule("/", "index", lambda: "ok")
    return app.test_client()


@pytest.mark.parametrize(("proto", "expected"), [("https", True), ("http", False), (None, False)])
def test_behind_a_trusted_proxy_the_forwarded_scheme_decides(proto, expected):
    headers = {"X-Forwarded-Proto": proto, "X-Forwarded-For": "203.0.113.9"} if proto else {}
    assert (HSTS in _proxied_app(1).get("/", headers=headers).headers) is expected


def test_an_untrusted_forwarded_proto_is_ignored():
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    assert HSTS not in _proxied_app(0).get("/", headers=headers).headers
