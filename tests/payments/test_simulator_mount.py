"""The PayPal simulator is mounted by the factory in development only; production refuses it."""
import base64

import pytest

from app import create_app
from config import ProductionConfig, TestingConfig


def test_development_mounts_the_simulator(monkeypatch):
    class Config(TestingConfig):
        SQLALCHEMY_DATABASE_URI = "sqlite://"
        PAYPAL_SIMULATOR = True
        PAYPAL_CLIENT_ID = "dev-id"
        PAYPAL_CLIENT_SECRET = "dev-secret"
        PAYPAL_WEBHOOK_ID = "WH-DEV"
        PAYPAL_SIMULATOR_WEBHOOK_URL = "http://127.0.0.1:5160/api/v1/payments/paypal/webhook"

    app = create_app(Config)
    assert "paypal_sandbox" in app.blueprints
    simulator = app.extensions["paypal_sandbox"]
    assert simulator.webhook_id == "WH-DEV" and simulator.deliver_async
    basic = base64.b64encode(b"dev-id:dev-secret").decode()
    token = app.test_client().post("/paypal-sandbox/v1/oauth2/token", data="grant_type=client_credentials",
                                   headers={"Authorization": f"Basic {basic}"})
    assert token.status_code == 200 and token.get_json()["token_type"] == "Bearer"
    wrong = app.test_client().post("/paypal-sandbox/v1/oauth2/token", headers={"Authorization": "Basic eDp5"})
    assert wrong.status_code == 401
    assert not any(path.startswith("/paypal-sandbox") for path in
                   app.test_client().get("/api/v1/openapi.json").get_json()["paths"])


def test_tests_and_production_do_not_mount_it(app):
    assert "paypal_sandbox" not in app.blueprints
    assert ProductionConfig.PAYPAL_SIMULATOR is False


def test_production_refuses_the_simulator(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("PAYPAL_SIMULATOR", "1")
    with pytest.raises(RuntimeError, match="PAYPAL_SIMULATOR"):
        ProductionConfig.validate()
