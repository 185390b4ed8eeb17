"""Scheduling's reactions: watchers of a tutor hear that the free slots changed; students hear of their tutor's
out-of-office period."""
from app.common import sockets
from app.common.transactions import unit_of_work
from app.scheduling import services
from app.scheduling.events import tutor_room


def emit_availability_changed(tutor_id):
    sockets.emit("availability:changed", {"tutor_id": tutor_id}, tutor_room(tutor_id))


def tell_students_out_of_office(block_id, booking_ids, **_period):
    """The students of the requests and sessions inside a new out-of-office period get an in-app notification
    and an email (in this subscriber's own unit of work)."""
    if booking_ids:
        with unit_of_work():
            services.tell_students_out_of_office(block_id, booking_ids)


def register(bus):
    bus.subscribe("availability.changed", emit_availability_changed)
    bus.subscribe("out_of_office.set", tell_students_out_of_office)
