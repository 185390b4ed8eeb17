"""The PayPal simulator is mounted by the factory in development only; production refuses it.

The factory's step is tried on bare Flask apps: a second ``create_app`` would rebind the process-wide
extensions (Socket.IO) away from the tests' app."""
import base64

import pytest
from flask import Flask

from app import register_paypal_simulator
from config import DevelopmentConfig, ProductionConfig


def bare_app(**config):
    app = Flask("paypal-sandbox-mount")
    app.config.update(config)
    return app


def test_development_mounts_the_simulator():
    dev = bare_app(PAYPAL_SIMULATOR=True, PAYPAL_CLIENT_ID="dev-id", PAYPAL_CLIENT_SECRET="dev-secret",
                   PAYPAL_WEBHOOK_ID="WH-DEV",
                   PAYPAL_SIMULATOR_WEBHOOK_URL="http://127.0.0.1:5160/api/v1/payments/paypal/webhook")
    register_paypal_simulator(dev)
    assert "paypal_sandbox" in dev.blueprints
    simulator = dev.extensions["paypal_sandbox"]
    assert simulator.webhook_id == "WH-DEV" and simulator.deliver_async
    basic = base64.b64encode(b"dev-id:dev-secret").decode()
    token = dev.test_client().post("/paypal-sandbox/v1/oauth2/token", data="grant_type=client_credentials",
                                   headers={"Authorization": f"Basic {basic}"})
    assert token.status_code == 200 and token.get_json()["token_type"] == "Bearer"
    wrong = dev.test_client().post("/paypal-sandbox/v1/oauth2/token", headers={"Authorization": "Basic eDp5"})
    assert wrong.status_code == 401


def test_development_defaults_point_the_gateway_at_the_mounted_simulator():
    if not DevelopmentConfig.PAYPAL_SIMULATOR:
        pytest.skip("PAYPAL_CLIENT_ID is set in this environment: development talks to PayPal")
    assert DevelopmentConfig.PAYPAL_API_BASE.endswith("/paypal-sandbox")
    assert DevelopmentConfig.PAYPAL_SIMULATOR_WEBHOOK_URL.endswith("/api/v1/payments/paypal/webhook")


def test_tests_and_production_do_not_mount_it(app):
    assert "paypal_sandbox" not in app.blueprints
    assert ProductionConfig.PAYPAL_SIMULATOR is False
    off = bare_app(PAYPAL_SIMULATOR=False)
    register_paypal_simulator(off)
    assert "paypal_sandbox" not in off.blueprints


def test_production_refuses_the_simulator(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("PAYPAL_SIMULATOR", "1")
    with pytest.raises(RuntimeError, match="PAYPAL_SIMULATOR"):
        ProductionConfig.validate()
