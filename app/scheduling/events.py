"""Live availability over Socket.IO: clients ``subscribe`` to a tutor's room and hear ``availability:changed``."""
from marshmallow import Schema

from app.common import sockets
from app.common.inputs import Id
from app.scheduling import services


def tutor_room(tutor_id):
    return f"tutor:{tutor_id}"


class TutorRoomSchema(Schema):
    tutor_id = Id(required=True, strict=True)


def subscribe(_user_id, sid, data):
    """{tutor_id} → join the tutor's room; the ack names the room."""
    services.get_tutor(data["tutor_id"])
    sockets.join(sid, tutor_room(data["tutor_id"]))
    return {"ok": True, "room": tutor_room(data["tutor_id"])}


def unsubscribe(_user_id, sid, data):
    sockets.leave(sid, tutor_room(data["tutor_id"]))
    return {"ok": True}


def register(app):
    sockets.register_event(app, "subscribe", TutorRoomSchema, subscribe)
    sockets.register_event(app, "unsubscribe", TutorRoomSchema, unsubscribe)
