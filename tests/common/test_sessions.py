"""The cookie session's signing serializer is built once per key set, and key changes still take effect."""
from flask import Flask, session

from app.common.sessions import CachedSerializerSessionInterface


def _app(secret, fallbacks=()):
    app = Flask("sessions")
    app.secret_key = secret
    app.config["SECRET_KEY_FALLBACKS"] = list(fallbacks)
    app.session_interface = CachedSerializerSessionInterface()

    @app.route("/set")
    def set_value():
        session["who"] = "admin"
        return "ok"

    @app.route("/get")
    def get_value():
        return session.get("who", "nobody")

    return app


def test_serializer_is_reused_and_sessions_round_trip():
    app = _app("first-secret")
    client = app.test_client()
    client.get("/set")
    assert client.get("/get").get_data(as_text=True) == "admin"
    serializer = app.session_interface.get_signing_serializer(app)
    assert app.session_interface.get_signing_serializer(app) is serializer


def test_rotated_key_invalidates_old_cookies_unless_listed_as_fallback():
    app = _app("old-secret")
    client = app.test_client()
    client.get("/set")
    cookie = client.get_cookie("session").value

    app.secret_key = "new-secret"  # rotated in place: the cached serializer must not keep the old key
    rotated = app.test_client()
    rotated.set_cookie("session", cookie)
    assert rotated.get("/get").get_data(as_text=True) == "nobody"

    app.config["SECRET_KEY_FALLBACKS"] = ["old-secret"]
    fallback = app.test_client()
    fallback.set_cookie("session", cookie)
    assert fallback.get("/get").get_data(as_text=True) == "admin"


def test_the_app_uses_it(app):
    assert isinstance(app.session_interface, CachedSerializerSessionInterface)
