"""Application factory: reads like a table of contents."""
import importlib
import logging
import os

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
    "app.progress.routes",
    "app.messaging.routes",
    "app.notifications.routes",
    "app.payments.routes",
    "app.payments.paypal_routes",
    "app.payments.dispute_routes",
    "app.payments.package_routes",
    "app.payments.report_routes",
    "app.analytics.routes",
    "app.webhooks.routes",
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
    "app.auth.subscribers",
    "app.notifications.subscribers",
    "app.tutors.subscribers",
    "app.scheduling.subscribers",
    "app.messaging.subscribers",
    "app.matching.subscribers",
    "app.payments.subscribers",
    "app.payments.dispute_subscribers",
    "app.calendars.subscribers",
    "app.analytics.subscribers",
    "app.webhooks.subscribers",
)

CLI_MODULES = (
    "app.users.commands",
    "app.analytics.commands",
    "app.matching.commands",
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
    register_paypal_simulator(app)
    register_calendar_simulator(app)
    register_sockets(app)
    register_subscribers(app)
    register_commands(app)
    return app


def configure_database_pool(app):
    """PostgreSQL pool size from DATABASE_POOL_SIZE / DATABASE_MAX_OVERFLOW, unless the engine options set it
    (SQLite keeps SQLAlchemy's own pool choice and gets its busy timeout, SQLITE_BUSY_TIMEOUT_SECONDS)."""
    uri = app.config.get("SQLALCHEMY_DATABASE_URI") or ""
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if uri.startswith("sqlite"):
        # A writer waits this long for SQLite's write lock (taken up front by app.common.database.lock_keys)
        # before "database is locked".
        connect_args = dict(options.get("connect_args") or {})
        connect_args.setdefault("timeout", app.config.get("SQLITE_BUSY_TIMEOUT_SECONDS", 30))
        options["connect_args"] = connect_args
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    if not uri.startswith("postgresql"):
        return
    options.setdefault("pool_size", app.config.get("DATABASE_POOL_SIZE", 5))
    options.setdefault("max_overflow", app.config.get("DATABASE_MAX_OVERFLOW", 10))
    # Most recently returned first: a burst reuses the same warm connections (their prepared statements and
    # plans) instead of cycling through every connection of the pool.
    options.setdefault("pool_use_lifo", True)
    # A connection the server closed while it sat in the pool is replaced at checkout, before a request uses it
    # (the ORM session and the auth lookup's autocommit connection both check out from this pool).
    options.setdefault("pool_pre_ping", app.config.get("DATABASE_PRE_PING", True))
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def configure_logging(app):
    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def configure_proxy(app):
    """Behind trusted proxies, take the client address and scheme from X-Forwarded-For / -Proto; send HSTS over
    HTTPS."""
    from app.common.security import register_hsts

    hops, proto_hops = app.config.get("PROXY_FIX_X_FOR", 0), app.config.get("PROXY_FIX_X_PROTO", 0)
    if hops or proto_hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=proto_hops)
    register_hsts(app)


def configure_sessions(app):
    """The cookie session (admin portal), without rebuilding its signer on every request and socket event."""
    from app.common.sessions import CachedSerializerSessionInterface

    app.session_interface = CachedSerializerSessionInterface()


def register_extensions(app):
    from app.auth.tokens import register_jwt_callbacks
    from app.common import events
    from app.common.api import ErrorResponsesPlugin, OperationIdPlugin
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
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"), render_as_batch=True)
    redis_client.init_app(app)
    queues.init_app(app)
    jwt.init_app(app)
    register_jwt_callbacks(app)
    events.init_app(app)
    limiter.init_app(app)
    cors.init_app(app, resources={r"/api/*": {"origins": app.config["CORS_ORIGINS"]}}, expose_headers=["X-Pagination", "Retry-After"])
    api.init_app(app, spec_kwargs={"extra_plugins": [OperationIdPlugin(), ErrorResponsesPlugin()]})
    socketio.init_app(
        app,
        async_mode=app.config["SOCKETIO_ASYNC_MODE"],
        cors_allowed_origins=origin_check(app.config["CORS_ORIGINS"], app.config.get("PROXY_FIX_X_FOR", 0) > 0),
        message_queue=app.config.get("SOCKETIO_MESSAGE_QUEUE"),
        channel=app.config.get("SOCKETIO_CHANNEL", "flask-socketio"),
        json=SocketJSON,
    )
    _serve_swagger_assets(app)


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


def register_paypal_simulator(app):
    """Development only (PAYPAL_SIMULATOR): a local PayPal at /paypal-sandbox that the real gateway calls."""
    if not app.config.get("PAYPAL_SIMULATOR"):
        return
    from paypal_sandbox import Simulator, blueprint

    simulator = Simulator(client_id=app.config["PAYPAL_CLIENT_ID"], client_secret=app.config["PAYPAL_CLIENT_SECRET"],
                          webhook_id=app.config["PAYPAL_WEBHOOK_ID"],
                          webhook_url=app.config.get("PAYPAL_SIMULATOR_WEBHOOK_URL"), deliver_async=True)
    app.extensions["paypal_sandbox"] = simulator
    app.register_blueprint(blueprint(simulator))


def register_calendar_simulator(app):
    """Development only (CALENDAR_SIMULATOR): a local Google (OAuth + Calendar API) at /calendar-sandbox that the
    real Google provider calls, pushing change notifications back to this server."""
    if not app.config.get("CALENDAR_SIMULATOR"):
        return
    from calendar_sandbox import GoogleSimulator, blueprint, send_in_background

    # oauthlib refuses token endpoints without TLS unless told otherwise (its documented switch for local servers).
    os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")
    simulator = GoogleSimulator(client_id=app.config["GOOGLE_CLIENT_ID"],
                                client_secret=app.config["GOOGLE_CLIENT_SECRET"], notify=send_in_background)
    app.extensions["calendar_sandbox"] = simulator
    app.register_blueprint(blueprint(simulator))


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
