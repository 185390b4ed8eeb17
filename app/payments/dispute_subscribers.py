"""Disputes' reactions: both parties hear of a dispute's changes (in-app and email, each in its own unit of
work after the change committed); a disputed hold settled another way closes its dispute."""
from app.common.transactions import unit_of_work
from app.payments import services


def tell_parties_opened(dispute_id, **_payload):
    with unit_of_work():
        services.tell_parties(dispute_id, "opened")


def tell_student_responded(dispute_id, **_payload):
    with unit_of_work():
        services.tell_parties(dispute_id, "responded")


def tell_parties_resolved(dispute_id, **_payload):
    with unit_of_work():
        services.tell_parties(dispute_id, "resolved")


def tell_parties_closed(dispute_id, **_payload):
    with unit_of_work():
        services.tell_parties(dispute_id, "closed")


def close_dispute_of_settled_hold(hold_id, outcome, **_payload):
    with unit_of_work():
        services.close_if_settled_elsewhere(hold_id, outcome)


def register(bus):
    bus.subscribe("payments.dispute_opened", tell_parties_opened)
    bus.subscribe("payments.dispute_responded", tell_student_responded)
    bus.subscribe("payments.dispute_resolved", tell_parties_resolved)
    bus.subscribe("payments.dispute_closed", tell_parties_closed)
    bus.subscribe("payments.settled", close_dispute_of_settled_hold)
