"""Payments' reactions: the people whose balances moved hear ``wallet:changed`` on their user room."""
from app.common import sockets


def emit_wallet_changed(payer_id, payee_id, currency, **_payload):
    """Socket.IO ``wallet:changed {currency}`` to the payer and the payee (a refresh hint; GET /wallet reads)."""
    sockets.emit("wallet:changed", {"currency": currency}, [sockets.user_room(payer_id), sockets.user_room(payee_id)])


def register(bus):
    bus.subscribe("payments.held", emit_wallet_changed)
    bus.subscribe("payments.settled", emit_wallet_changed)
