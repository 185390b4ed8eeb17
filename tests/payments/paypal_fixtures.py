"""PayPal fixtures of the payments tests (imported by conftest.py): the local simulator served over real HTTP, the
real gateway pointed at it."""
import threading

import pytest
from werkzeug.serving import make_server

from app.payments.paypal import PayPalGateway
from paypal_sandbox import Simulator, standalone_app

CLIENT_ID = "test-client-id"
CLIENT_SECRET = "test-client-secret"
WEBHOOK_ID = "WH-TEST-0001"


class LiveSimulator:
    """A ``Simulator`` on 127.0.0.1:<free port> in a thread, with the base URL the gateway uses."""

    def __init__(self):
        self.simulator = Simulator(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, webhook_id=WEBHOOK_ID)
        self.server = make_server("127.0.0.1", 0, standalone_app(self.simulator), threaded=True)
        self.base_url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def config(self, **overrides):
        return {"PAYPAL_MODE": "sandbox", "PAYPAL_CLIENT_ID": CLIENT_ID, "PAYPAL_CLIENT_SECRET": CLIENT_SECRET,
                "PAYPAL_API_BASE": self.base_url, "PAYPAL_WEBHOOK_ID": WEBHOOK_ID, "PAYPAL_TIMEOUT_SECONDS": 5,
                **overrides}

    def stop(self):
        self.server.shutdown()
        self.thread.join(5)


@pytest.fixture(scope="session")
def _live_simulator():
    live = LiveSimulator()
    yield live
    live.stop()


@pytest.fixture
def paypal(app, _live_simulator):
    """The simulator (fresh state per test), with the app's gateway pointed at it."""
    live = _live_simulator
    live.simulator.reset()
    previous = app.extensions.get("paypal")
    app.extensions["paypal"] = PayPalGateway.from_config(live.config())
    yield live.simulator
    if previous is None:
        app.extensions.pop("paypal", None)
    else:
        app.extensions["paypal"] = previous


@pytest.fixture
def gateway(paypal, app):
    return app.extensions["paypal"]


@pytest.fixture
def live_simulator(_live_simulator):
    return _live_simulator
