"""The events integrators can subscribe to: which internal event each is, who it concerns and what it carries.

Deliveries are thin: ids, states, times and amounts, never free text or private notes; an integrator reads more
through the API with its owner's token (which applies the API's own authorization).
"""
BOOKING_FIELDS = ("booking_id", "student_id", "tutor_id", "start_at", "end_at", "duration_minutes", "subject",
                  "subject_name", "state", "previous_state")


def _parties(*names):
    return lambda payload: {payload.get(name) for name in names} - {None}


BOOKING = (_parties("student_id", "tutor_id"), BOOKING_FIELDS)

# webhook event type (the internal event of the same name) → (the user ids it concerns, the fields delivered)
EVENTS = {
    "booking.requested": BOOKING,
    "booking.confirmed": BOOKING,
    "booking.rescheduled": (BOOKING[0], BOOKING_FIELDS + ("old_start_at", "old_end_at")),
    "booking.cancelled": (BOOKING[0], BOOKING_FIELDS + ("cancelled_by", "refund_percent", "late")),
    "booking.completed": BOOKING,
    "review.published": (_parties("student_id", "tutor_id"),
                         ("review_id", "booking_id", "author_id", "author_role", "student_id", "tutor_id",
                          "released_at")),
    "payments.held": (_parties("payer_id", "payee_id"),
                      ("hold_id", "cause_type", "cause_id", "payer_id", "payee_id", "amount_minor", "currency")),
    "payments.settled": (_parties("payer_id", "payee_id"),
                         ("hold_id", "cause_type", "cause_id", "payer_id", "payee_id", "currency", "outcome",
                          "refund_minor", "payee_minor", "commission_minor")),
    "payments.deposit_captured": (_parties("user_id"), ("deposit_id", "user_id", "amount_minor", "currency")),
    "payments.deposit_refunded": (_parties("user_id"),
                                  ("deposit_id", "refund_id", "user_id", "amount_minor", "currency")),
    "payments.payout_requested": (_parties("user_id"), ("payout_id", "user_id", "amount_minor", "currency")),
    "payments.payout_succeeded": (_parties("user_id"), ("payout_id", "user_id")),
    "payments.payout_failed": (_parties("user_id"), ("payout_id", "user_id", "amount_minor", "currency")),
    "payments.package_purchased": (_parties("payer_id", "payee_id"),
                                   ("purchase_id", "payer_id", "payee_id", "kind", "credits", "amount_minor",
                                    "currency")),
    "payments.package_refunded": (_parties("payer_id", "payee_id"),
                                  ("purchase_id", "payer_id", "payee_id", "amount_minor", "currency")),
}
# Sent only by POST /webhooks/{id}/ping; nobody subscribes to it.
PING = "webhook.ping"
EVENT_TYPES = tuple(EVENTS)


def parties(event_type, data):
    """The user ids an event concerns (an owner outside them gets it only through an admin's ``all`` scope)."""
    if event_type == PING:
        return set()
    return EVENTS[event_type][0](data)


def public_data(event_type, payload):
    """The fields of an internal event's payload that its webhook delivery carries."""
    return {name: payload[name] for name in EVENTS[event_type][1] if name in payload}
