"""Application factory: reads like a table of contents."""
import importlib
import logging

from flask import Flask, send_from_directory

from config import config_from_env

# Each module exposes a flask_smorest Blueprint named ``blp``; order is the OpenAPI tag order.
API_BLUEPRINTS = (
    "app.health.routes",
    "app.auth.routes",
    "app.users.routes",
    "app.files.routes",
    "app.scheduling.routes",
    "app.calendars.routes",
    "app.tutors.routes",
    "app.matching.routes",
    "app.reviews.routes",
    "app.messaging.routes",
    "app.notifications.routes",
)

# Socket.IO handlers: each module's register(app) binds its events through app.common.sockets.
SOCKET_MODULES = (
    "app.auth.events",
    "app.scheduling.events",
    "app.messaging.events",
)

# Reactions to events (app.common.events): each module's register(bus) subscribes, in this order.
SUBSCRIBER_MODULES = (
    "app.users.subscribers",
    "app.notifications.subscribers",
    "app.tutors.subscribers",
    "app.scheduling.subscribers",
    "app.messaging.subscribers",
    "app.matching.subscribers",
)

CLI_MODULES = (
    "app.users.commands",
    "app.seed",
)


def create_app(config=None):
    app = Flask(__name__, instance_relative_config=True)
    config = config or config_from_env()
    if hasattr(config, "validate"):
        config.validate()
    app.config.from_object(config)
    configure_database_pool(app)
    configure_logging(app)
    configure_proxy(app)
    configure_sessions(app)
    register_extensions(app)
    configure_inputs(app)
    register_error_handlers(app)
    register_blueprints(app)
    register_portal(app)
    register_sockets(app)
    register_subscribers(app)
    register_commands(app)
    return app


def configure_database_pool(app):
    """PostgreSQL pool size from DATABASE_POOL_SIZE / DATABASE_MAX_OVERFLOW, unless the engine options set it
    (SQLite keeps SQLAlchemy's own pool choice)."""
    uri = app.config.get("SQLALCHEMY_DATABASE_URI") or ""
    if not uri.startswith("postgresql"):
        return
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    options.setdefault("pool_size", app.config.get("DATABASE_POOL_SIZE", 5))
    options.setdefault("max_overflow", app.config.get("DATABASE_MAX_OVERFLOW", 10))
    # Most recently returned first: a burst reuses the same warm connections (their prepared statements and
    # plans) instead of cycling through every connection of the pool.
    options.setdefault("pool_use_lifo", True)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def configure_logging(app):
    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def configure_proxy(app):
    """Behind PROXY_FIX_X_FOR proxies, take the client address and scheme from X-Forwarded-*."""
    hops = app.config.get("PROXY_FIX_X_FOR", 0)
    if hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def configure_sessions(app):
    """The cookie session (admin portal), without rebuilding its signer on every request and socket event."""
    from app.common.sessions import CachedSerializerSessionInterface

    app.session_interface = CachedSerializerSessionInterface()


def register_extensions(app):
    from app.auth.tokens import register_jwt_callbacks
    from app.common import events
    from app.common.inputs import SocketJSON
    from app.common.sockets import origin_check
    from app.extensions import (
        api,
        cors,
        db,
        jwt,
        limiter,
        migrate,
        queues,
        redis_client,
        socketio,
    )

    db.init_app(app)
    _ping_idle_database_connections(app)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"), render_as_batch=True)
    redis_client.init_app(app)
    queues.init_app(app)
    jwt.init_app(app)
    register_jwt_callbacks(app)
    events.init_app(app)
    limiter.init_app(app)
    cors.init_app(app, resources={r"/api/*": {"origins": app.config["CORS_ORIGINS"]}}, expose_headers=["X-Pagination", "Retry-After"])
    api.init_app(app)
    socketio.init_app(
        app,
        async_mode=app.config["SOCKETIO_ASYNC_MODE"],
        cors_allowed_origins=origin_check(app.config["CORS_ORIGINS"], app.config.get("PROXY_FIX_X_FOR", 0) > 0),
        message_queue=app.config.get("SOCKETIO_MESSAGE_QUEUE"),
        channel=app.config.get("SOCKETIO_CHANNEL", "flask-socketio"),
        json=SocketJSON,
    )
    _serve_swagger_assets(app)


def _ping_idle_database_connections(app):
    from app.common.database import ping_idle_connections
    from app.extensions import db

    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name != "sqlite":
                ping_idle_connections(engine, app.config["DATABASE_PING_IDLE_SECONDS"])


def _serve_swagger_assets(app):
    """Swagger UI from the swagger-ui-bundle package, so the docs work offline."""
    import swagger_ui_bundle

    @app.route("/api/v1/docs/assets/<path:filename>")
    def swagger_ui_assets(filename):
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename)


def configure_inputs(app):
    """Bounded path ids and safe JSON decoding (app.common.inputs), before any route exists."""
    from app.common import inputs
    from app.extensions import api

    inputs.init_app(app, api)


def register_error_handlers(app):
    from app.common.errors import register_error_handlers as register

    register(app)


def register_blueprints(app):
    from app.extensions import api

    for module_name in API_BLUEPRINTS:
        api.register_blueprint(importlib.import_module(module_name).blp)


def register_portal(app):
    """The admin portal: server-rendered pages under /admin, on the same services as the API."""
    from admin_portal import bp

    app.register_blueprint(bp)


def register_sockets(app):
    for module_name in SOCKET_MODULES:
        importlib.import_module(module_name).register(app)


def register_subscribers(app):
    bus = app.extensions["events"]
    for module_name in SUBSCRIBER_MODULES:
        importlib.import_module(module_name).register(bus)


def register_commands(app):
    for module_name in CLI_MODULES:
        importlib.import_module(module_name).register(app)
