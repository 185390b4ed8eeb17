"""Users' reactions: a replaced avatar's file is deleted once the new one is committed."""
from app.common import storage


def delete_replaced_avatar(user_id, old_key):
    storage.delete(old_key)


def register(bus):
    bus.subscribe("user.avatar_replaced", delete_replaced_avatar)
