"""Web entry point: serves the app with Flask-SocketIO's own server (eventlet by default), on $PORT."""
import os

import config  # noqa: F401  (loads .env before the settings below are read, as the worker and flask do)

if os.environ.get("SOCKETIO_ASYNC_MODE", "eventlet") == "eventlet" and os.environ.get("FLASK_CONFIG") == "production":
    # psycopg 3's C wait function would block eventlet's hub; its select-based one cooperates.
    os.environ.setdefault("PSYCOPG_WAIT_FUNC", "wait_select")
    import eventlet

    eventlet.monkey_patch()

from app import create_app  # noqa: E402
from app.common.runtime import (  # noqa: E402
    freeze_startup_heap,
    schedule_full_collections,
    serve_eventlet,
)
from app.extensions import socketio  # noqa: E402

app = create_app()


def main():
    host = os.environ.get("HOST", "0.0.0.0" if os.environ.get("PORT") else "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    if not app.config.get("JOBS_ASYNC"):
        from jobs.worker import start_inline_periodic

        start_inline_periodic(app)
    freeze_startup_heap()
    schedule_full_collections(app.config.get("GC_FULL_COLLECT_SECONDS"), socketio.start_background_task,
                              socketio.sleep, app.config.get("GC_MIDDLE_THRESHOLD"))
    if socketio.server.eio.async_mode == "eventlet":
        serve_eventlet(app, host, port)  # as socketio.run does, on a TCP_NODELAY listener
    else:
        socketio.run(app, host=host, port=port, debug=False, use_reloader=False, allow_unsafe_werkzeug=True)


if __name__ == "__main__":
    main()
