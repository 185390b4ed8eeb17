"""Recent history per conversation cached in Redis; PostgreSQL stays the source of truth.

A copy is stamped with the conversation's ``last_message_id`` as read *before* the messages were read. Every
new message sets that column to its own id in the transaction that stores it (an assignment, never a
max, so each write changes it, even one that commits after a newer message). A reader, which loads the
conversation row anyway to check participation, serves the copy only while the stamp still equals the
column: any write since the copy was read changed it. So senders never touch Redis, and a fill that raced a
write is simply never served (no generation counter, no WATCH).
"""
import json
import logging

import redis

from app.extensions import redis_client

log = logging.getLogger(__name__)

HISTORY_SIZE = 50
TTL_SECONDS = 24 * 3600


def _key(conversation_id):
    return f"chat:recent:{conversation_id}"


def recent(conversation_id, stamp):
    """{"items": [...newest first], "more": bool} when the cached copy is current for ``stamp``, else None."""
    try:
        raw = redis_client.client.get(_key(conversation_id))
    except redis.RedisError:
        log.warning("History cache unavailable", exc_info=True)
        return None
    if raw is None:
        return None
    cached = json.loads(raw)
    if cached.get("stamp") != stamp:
        return None
    return cached


def fill(conversation_id, stamp, items, more):
    """Store what was read from the database after ``stamp`` (the conversation's last_message_id) was read."""
    payload = json.dumps({"stamp": stamp, "items": items[:HISTORY_SIZE], "more": more})
    try:
        redis_client.client.set(_key(conversation_id), payload, ex=TTL_SECONDS)
    except redis.RedisError:
        log.warning("History cache unavailable", exc_info=True)
