"""A local PayPal simulator for development and tests: the HTTP subset Tutorhub's gateway speaks.

OAuth2 client-credentials tokens, v2 Orders (create, get, capture, with an approve page a person can click),
v2 captures' refunds, v1 Payouts, ``verify-webhook-signature``, and webhooks it signs and sends itself.
``PayPal-Request-Id`` replays the first answer, as PayPal does. State lives in memory, per ``Simulator``.

It is never part of a production configuration: the factory mounts ``blueprint(simulator)`` only when
``PAYPAL_SIMULATOR`` is on (``make run``), and tests serve ``standalone_app(simulator)`` over real HTTP.
It imports nothing from the application (an import-linter contract holds it).
"""
from paypal_sandbox.simulator import Simulator
from paypal_sandbox.views import blueprint, standalone_app

__all__ = ["Simulator", "blueprint", "standalone_app"]
