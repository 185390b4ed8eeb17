"""Scheduling's reactions: watchers of a tutor hear that the free slots changed."""
from app.common import sockets
from app.scheduling.events import tutor_room


def emit_availability_changed(tutor_id):
    sockets.emit("availability:changed", {"tutor_id": tutor_id}, tutor_room(tutor_id))


def register(bus):
    bus.subscribe("availability.changed", emit_availability_changed)
