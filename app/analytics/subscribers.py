"""Analytics' reactions: sign-ins, socket connections, messages and booking changes feed the activity log (one row
per user, UTC day and kind, upserted in the subscriber's own unit of work)."""
from app.analytics import services
from app.common.transactions import unit_of_work

BOOKING_EVENTS = ("booking.requested", "booking.confirmed", "booking.rejected", "booking.cancelled",
                  "booking.rescheduled", "booking.started", "booking.completed", "booking.no_show")


def record_sign_in(user_id, **_event):
    with unit_of_work():
        services.record_activity(user_id, "login")


def record_connection(user_id, **_event):
    """An authenticated client (web or app) connected its socket: kind ``api``."""
    with unit_of_work():
        services.record_activity(user_id, "api")


def record_message(message, **_event):
    if (message or {}).get("kind", "text") == "booking":
        return  # a booking's system line: nobody typed it
    with unit_of_work():
        services.record_activity(message.get("sender_id"), "chat")


def record_booking_change(actor_id=None, **_booking):
    if actor_id is not None:
        with unit_of_work():
            services.record_activity(actor_id, "booking")


def register(bus):
    bus.subscribe("user.signed_in", record_sign_in)
    bus.subscribe("socket.connected", record_connection)
    bus.subscribe("message.created", record_message)
    for name in BOOKING_EVENTS:
        bus.subscribe(name, record_booking_change)
