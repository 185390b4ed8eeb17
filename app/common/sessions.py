"""Flask's cookie session with its signing serializer built once per key set.

Flask builds an itsdangerous serializer in ``open_session``, i.e. on every request (and on every Socket.IO event
dispatched with a request context). The serializer only depends on the keys and this class's fixed settings, and
is safe to share between threads, so it is built once per key set.
"""
from flask.sessions import SecureCookieSessionInterface


class CachedSerializerSessionInterface(SecureCookieSessionInterface):
    def get_signing_serializer(self, app):
        if not app.secret_key:
            return None
        keys = (tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()), app.secret_key)
        cached = app.extensions.get("session_serializer")
        if cached is None or cached[0] != keys:  # a changed key (or fallback list) gets a new serializer
            cached = (keys, super().get_signing_serializer(app))
            app.extensions["session_serializer"] = cached
        return cached[1]
