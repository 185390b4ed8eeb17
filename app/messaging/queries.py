"""The writes of a chat send: one statement on PostgreSQL (data-modifying CTEs), its portable twin elsewhere.

Both apply the same rules, and ``tests/messaging/test_queries.py`` runs them side by side on PostgreSQL:

* the message is inserted only when the sender takes part in the conversation and no other participant has
  blocked them; a repeated (sender_id, client_id) inserts nothing (ON CONFLICT DO NOTHING);
* the conversation's last_message_at and last_message_id are set (the history cache's stamp, see cache.py);
* every other participant gets an in-app notification titled with the sender's name, written through the
  INSERT that notifications' services build (``insert_notifications_from``).

A socket send holds no transaction when it writes: there the PostgreSQL statement runs on an autocommit
connection, its own transaction in one round trip instead of BEGIN, statement, COMMIT, once a place in the
send gate is free.
"""
import functools

import sqlalchemy as sa
from flask import current_app

from app.common.database import autocommit_engine
from app.common.gate import FifoGate
from app.common.models import JSONType
from app.common.time import UTCDateTime
from app.extensions import db
from app.messaging.models import Conversation, ConversationParticipant, Message, UserBlock
from app.notifications import services as notifications
from app.users.models import User

MESSAGE_COLUMNS = ["conversation_id", "sender_id", "body", "client_id", "created_at"]


def send_gate():
    """The app's limit on standalone sends writing at once (config MESSAGE_SEND_CONCURRENCY; 0: none).

    Each holds a pooled connection outside any Session for its statement; waiting here, in arrival order,
    before taking one keeps a burst of sends within the pool's size instead of opening overflow connections
    or queueing inside the pool in no particular order.
    """
    gate = current_app.extensions.get("messaging.send_gate")
    if gate is None:
        gate = current_app.extensions["messaging.send_gate"] = FifoGate(
            current_app.config.get("MESSAGE_SEND_CONCURRENCY", 0))
    return gate


def store_message(params, standalone=False):
    """Insert a message, touch its conversation and notify the other participants.

    ``params``: cid, sender, body, client_id, now, preview (the notifications' body). Returns (message id,
    notification rows) or None when the insert was refused (not a participant, blocked, client_id taken).
    ``standalone``: nothing else is written in this unit of work, so on PostgreSQL a send outside any
    transaction may commit on its own. Otherwise the writes join the session's transaction.
    """
    if db.engine.dialect.name != "postgresql":
        return store_message_portable(params)
    session = db.session()
    if standalone and not session.in_transaction():
        with send_gate(), autocommit_engine(db.engine).connect() as connection:
            rows = connection.execute(_fused_statement(), params).all()
    else:
        rows = session.connection().execute(_fused_statement(), params).all()
    if not rows:
        return None
    return rows[0].message_id, [row for row in rows if row.id is not None]


def store_message_portable(params):
    """``store_message`` as three statements on the session's transaction (any dialect with INSERT … ON
    CONFLICT and RETURNING: PostgreSQL, SQLite)."""
    insert_message, touch, notify = _portable_statements(db.session.get_bind().dialect.name)
    connection = db.session.connection()
    message_id = connection.execute(insert_message, params).scalar()
    if message_id is None:
        return None
    connection.execute(touch, {**params, "message_id": message_id})
    data = {"conversation_id": params["cid"], "message_id": message_id, "sender_id": params["sender"]}
    return message_id, connection.execute(notify, {**params, "data": data}).all()


class _Params:
    """The bound parameters both statements share."""

    cid = sa.bindparam("cid", type_=sa.Integer())
    sender = sa.bindparam("sender", type_=sa.Integer())
    body = sa.bindparam("body", type_=sa.Text())
    client_id = sa.bindparam("client_id", type_=sa.String())
    now = sa.bindparam("now", type_=UTCDateTime())
    preview = sa.bindparam("preview", type_=sa.Text())


def _insert_message(insert):
    """The guarded insert (``insert``: the dialect's, for ON CONFLICT), returning the new id (and conversation)."""
    p, b, m = ConversationParticipant.__table__, UserBlock.__table__, Message.__table__
    other = p.alias("other")
    takes_part = sa.exists().where(p.c.conversation_id == _Params.cid, p.c.user_id == _Params.sender)
    blocked = sa.exists().where(b.c.blocked_id == _Params.sender, b.c.blocker_id == other.c.user_id,
                                other.c.conversation_id == _Params.cid, other.c.user_id != _Params.sender)
    values = sa.select(_Params.cid, _Params.sender, _Params.body, _Params.client_id, _Params.now)
    return (
        insert(m).from_select(MESSAGE_COLUMNS, values.where(takes_part, ~blocked))
        .on_conflict_do_nothing(index_elements=["sender_id", "client_id"])
        .returning(m.c.id, m.c.conversation_id)
    )


def _recipients(data, message=None):
    """One notification row per other participant (labelled as ``insert_notifications_from`` wants them);
    ``message``: the CTE ``data`` reads the new id from."""
    p, u = ConversationParticipant.__table__, User.__table__
    joined = p.join(u, u.c.id == _Params.sender)
    if message is not None:
        joined = message.join(joined, sa.true())
    return (
        sa.select(p.c.user_id.label("user_id"), sa.literal("message").label("kind"),
                  (sa.literal("New message from ") + u.c.full_name).label("title"),
                  _Params.preview.label("body"), data.label("data"), _Params.now.label("created_at"))
        .select_from(joined)
        .where(p.c.conversation_id == _Params.cid, p.c.user_id != _Params.sender)
    )


@functools.cache
def _portable_statements(dialect):
    """(insert, touch, notify), built once per dialect."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    c = Conversation.__table__
    touch = sa.update(c).where(c.c.id == _Params.cid).values(
        last_message_at=_Params.now, last_message_id=sa.bindparam("message_id", type_=sa.Integer()))
    notify = notifications.insert_notifications_from(_recipients(sa.bindparam("data", type_=JSONType)))
    return _insert_message(insert), touch, notify


@functools.cache
def _fused_statement():
    """PostgreSQL: the three writes as one statement. Rows (message_id, the notification's columns…): one per
    notification, one with NULL notification columns when nobody else takes part, none when refused."""
    from sqlalchemy.dialects.postgresql import insert

    c = Conversation.__table__
    message = _insert_message(insert).cte("message")
    touched = (
        sa.update(c).where(c.c.id == message.c.conversation_id)
        .values(last_message_at=_Params.now, last_message_id=message.c.id)
        .cte("touched")
    )
    data = sa.func.jsonb_build_object("conversation_id", _Params.cid, "message_id", message.c.id,
                                      "sender_id", _Params.sender)
    notified = notifications.insert_notifications_from(_recipients(data, message)).cte("notified")
    return (
        sa.select(message.c.id.label("message_id"), *notified.c)
        .select_from(message.outerjoin(notified, sa.true()))
        .add_cte(touched)
    )
