"""The app as a whole: error shape for 404/405/413/500, health, OpenAPI + offline Swagger UI, CORS, config."""
import pytest
from flask import Flask

from app import create_app
from config import (
    DevelopmentConfig,
    ProductionConfig,
    config_from_env,
    normalize_database_url,
)
from tests.conftest import assert_error


def test_unknown_route_is_json_404(client):
    body = assert_error(client.get("/api/v1/nowhere"), 404)
    assert body["status"] == "Not Found"


def test_wrong_method_is_json_405(client):
    response = client.delete("/api/v1/health")
    assert_error(response, 405)
    assert "GET" in response.headers["Allow"]


def test_body_over_max_content_length_is_json_413(client, app, auth, monkeypatch):
    from tests.factories import UserFactory

    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024)
    response = client.post("/api/v1/auth/login", data=b"{" + b" " * 2048 + b"}", content_type="application/json")
    assert_error(response, 413)
    headers = auth.headers(UserFactory())
    response = client.put("/api/v1/users/me/avatar", headers=headers, content_type="multipart/form-data",
                          data={"file": (__import__("io").BytesIO(b"x" * 4096), "a.png")})
    assert_error(response, 413)


def test_malformed_json_is_json_400_or_422(client):
    response = client.post("/api/v1/auth/login", data="{not json", content_type="application/json")
    assert response.status_code in (400, 422)
    assert_error(response, response.status_code)


def test_unhandled_error_is_500_without_stack_trace(_isolated_test_app):
    test_app = _isolated_test_app

    @test_app.route("/api/v1/boom")
    def boom():
        raise RuntimeError("secret internal detail")

    response = test_app.test_client().get("/api/v1/boom")

    body = assert_error(response, 500)
    assert body["message"] == "An unexpected error occurred."
    text = response.get_data(as_text=True)
    assert "secret internal detail" not in text and "Traceback" not in text and "RuntimeError" not in text


def test_unhandled_error_in_a_service_is_500(client, auth, monkeypatch):
    from app.users import services
    from tests.factories import UserFactory

    def explode(_user_id):
        raise ZeroDivisionError("division by zero in a service")

    monkeypatch.setattr(services, "get_user", explode)
    headers = auth.headers(UserFactory())
    response = client.get("/api/v1/users/1", headers=headers)
    assert_error(response, 500)
    assert "division" not in response.get_data(as_text=True)


@pytest.fixture
def _isolated_test_app(app):
    """A bare Flask app with Tutorhub's error handlers, so a throwaway route can be added after startup."""
    from app.common.errors import register_error_handlers

    test_app = Flask("throwaway")
    test_app.config.update(SQLALCHEMY_DATABASE_URI="sqlite://")
    test_app.extensions["sqlalchemy"] = app.extensions["sqlalchemy"]  # db.session.rollback() needs a binding
    register_error_handlers(test_app)
    with test_app.app_context():
        yield test_app


def test_health_reports_ok(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_health_reports_redis_down(client, app, monkeypatch):
    class DeadRedis:
        def ping(self):
            raise ConnectionError("connection refused")

    monkeypatch.setitem(app.extensions, "redis", DeadRedis())
    response = client.get("/api/v1/health")
    body = assert_error(response, 503)  # load balancers read the code
    assert body["errors"] == {"database": "ok", "redis": "error: ConnectionError"}
    assert response.headers["Retry-After"]


def test_openapi_documents_every_operation(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    expected = {"/api/v1/auth/signup", "/api/v1/auth/login", "/api/v1/auth/mfa/verify", "/api/v1/auth/refresh",
                "/api/v1/users/me", "/api/v1/users/me/avatar", "/api/v1/admin/users", "/api/v1/health"}
    assert expected <= set(spec["paths"])
    for path, item in spec["paths"].items():
        assert path.startswith("/api/v1/"), path
        for method, operation in item.items():
            if method == "parameters":
                continue
            assert operation.get("summary"), f"{method.upper()} {path} has no summary"
            assert operation.get("description"), f"{method.upper()} {path} has no description"
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is not None:
                assert body.get("examples") or body.get("example"), f"{method.upper()} {path} has no example"


def test_swagger_ui_uses_local_assets(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/api/v1/docs/assets/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-standalone-preset.js"):
        response = client.get(f"/api/v1/docs/assets/{asset}")
        assert response.status_code == 200, asset
        assert len(response.data) > 1000
        response.close()


def test_cors_allows_configured_origin_only(client):
    allowed = client.get("/api/v1/health", headers={"Origin": "http://localhost:3000"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert "X-Pagination" in allowed.headers["Access-Control-Expose-Headers"]
    denied = client.get("/api/v1/health", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in denied.headers


def test_production_refuses_to_start_without_secrets(monkeypatch):
    for name in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY, DATABASE_URL, REDIS_URL"):
        create_app(ProductionConfig)


def test_config_selection_and_database_urls(monkeypatch):
    monkeypatch.setenv("FLASK_CONFIG", "production")
    assert config_from_env() is ProductionConfig
    monkeypatch.delenv("FLASK_CONFIG")
    monkeypatch.delenv("APP_ENV", raising=False)
    assert config_from_env() is DevelopmentConfig
    assert normalize_database_url("postgres://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert normalize_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalize_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_proxy_fix_takes_client_address_from_forwarded_header():
    from flask import request

    from app import configure_proxy

    behind_proxy = Flask("proxied")
    behind_proxy.config["PROXY_FIX_X_FOR"] = 1
    configure_proxy(behind_proxy)
    behind_proxy.add_url_rule("/ip", "ip", lambda: request.remote_addr)
    headers = {"X-Forwarded-For": "203.0.113.7"}
    assert behind_proxy.test_client().get("/ip", headers=headers).get_data(as_text=True) == "203.0.113.7"

    direct = Flask("direct")
    direct.config["PROXY_FIX_X_FOR"] = 0
    configure_proxy(direct)
    direct.add_url_rule("/ip", "ip", lambda: request.remote_addr)
    assert direct.test_client().get("/ip", headers=headers).get_data(as_text=True) == "127.0.0.1"


def test_redis_pool_waits_for_a_free_connection_instead_of_failing():
    """A burst of Socket.IO events must queue for Redis connections, not fail with MaxConnectionsError."""
    import os
    import threading

    import redis

    from app.extensions import RedisClient

    url = os.environ.get("TEST_REDIS_URL") or "redis://127.0.0.1:6379/15"
    app = Flask("pool")
    app.config.update(REDIS_URL=url, REDIS_MAX_CONNECTIONS=2, REDIS_POOL_TIMEOUT=5)
    RedisClient().init_app(app)
    pool = app.extensions["redis"].connection_pool
    assert isinstance(pool, redis.BlockingConnectionPool) and pool.max_connections == 2
    if not os.environ.get("TEST_REDIS_URL"):
        return  # the waiting itself needs a live Redis
    held = [pool.get_connection(), pool.get_connection()]
    got = []
    waiter = threading.Thread(target=lambda: got.append(pool.get_connection()))
    waiter.start()
    waiter.join(0.3)
    assert got == []  # waiting, not failing
    pool.release(held.pop())
    waiter.join(5)
    assert len(got) == 1
    for connection in [*held, *got]:
        pool.release(connection)
    pool.disconnect()



def test_postgres_pool_size_comes_from_config_unless_engine_options_set_it():
    from flask import Flask

    from app import configure_database_pool

    app = Flask(__name__)
    app.config.update(SQLALCHEMY_DATABASE_URI="postgresql+psycopg://postgres@127.0.0.1:5432/unused",
                      SQLALCHEMY_ENGINE_OPTIONS={}, DATABASE_POOL_SIZE=17, DATABASE_MAX_OVERFLOW=2)
    configure_database_pool(app)
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"] == {"pool_size": 17, "max_overflow": 2,
                                                          "pool_use_lifo": True, "pool_pre_ping": True}

    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": 3, "pool_use_lifo": False}
    app.config["DATABASE_PRE_PING"] = False
    configure_database_pool(app)
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"] == {"pool_size": 3, "max_overflow": 2, "pool_use_lifo": False,
                                                          "pool_pre_ping": False}


def test_sqlite_keeps_sqlalchemys_pool_choice():
    from flask import Flask

    from app import configure_database_pool

    app = Flask(__name__)
    app.config.update(SQLALCHEMY_DATABASE_URI="sqlite://", SQLALCHEMY_ENGINE_OPTIONS={}, DATABASE_POOL_SIZE=17,
                      SQLITE_BUSY_TIMEOUT_SECONDS=12)
    configure_database_pool(app)
    # No pool sizing; only the busy timeout a writer waits for SQLite's write lock.
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"] == {"connect_args": {"timeout": 12}}
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"timeout": 3, "uri": True}}
    configure_database_pool(app)
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"] == {"connect_args": {"timeout": 3, "uri": True}}
