"""Payments' reactions: the people whose balances moved hear ``wallet:changed`` on their user room; a student
whose plan renewal failed gets an email and an in-app notice."""
from app.common import sockets
from app.common.transactions import unit_of_work
from app.payments import subscriptions


def emit_wallet_changed(payer_id, payee_id, currency, **_payload):
    """Socket.IO ``wallet:changed {currency}`` to the payer and the payee (a refresh hint; GET /wallet reads)."""
    sockets.emit("wallet:changed", {"currency": currency}, [sockets.user_room(payer_id), sockets.user_room(payee_id)])


def tell_subscription_paused(subscription_id, **_payload):
    """The student hears that the plan is paused (email through the outbox, in-app notice), after the commit."""
    with unit_of_work():
        subscriptions.tell_paused(subscription_id)


def register(bus):
    bus.subscribe("payments.held", emit_wallet_changed)
    bus.subscribe("payments.settled", emit_wallet_changed)
    bus.subscribe("payments.package_purchased", emit_wallet_changed)
    bus.subscribe("payments.package_refunded", emit_wallet_changed)
    bus.subscribe("payments.subscription_paused", tell_subscription_paused)
