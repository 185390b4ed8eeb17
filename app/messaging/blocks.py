"""Blocking: a blocked user's new messages to the blocker are refused."""
import sqlalchemy as sa

from app.common.errors import Invalid
from app.extensions import db
from app.messaging.models import UserBlock
from app.users import services as users


def block(blocker_id, blocked_id):
    if blocker_id == blocked_id:
        raise Invalid("You cannot block yourself.", errors={"user_id": ["Cannot block yourself."]})
    users.get_user(blocked_id)
    if db.session.get(UserBlock, (blocker_id, blocked_id)) is None:
        db.session.add(UserBlock(blocker_id=blocker_id, blocked_id=blocked_id))


def unblock(blocker_id, blocked_id):
    users.get_user(blocked_id)
    db.session.execute(
        sa.delete(UserBlock).where(UserBlock.blocker_id == blocker_id, UserBlock.blocked_id == blocked_id)
    )


def blocked_by_any(sender_id, recipient_ids):
    """True when one of the recipients has blocked the sender."""
    recipient_ids = [uid for uid in recipient_ids if uid != sender_id]
    if not recipient_ids:
        return False
    return db.session.scalar(
        sa.select(sa.exists().where(UserBlock.blocked_id == sender_id, UserBlock.blocker_id.in_(recipient_ids)))
    )


def blocked_ids(blocker_id):
    return list(db.session.scalars(sa.select(UserBlock.blocked_id).where(UserBlock.blocker_id == blocker_id)))
