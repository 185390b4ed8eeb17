"""Recent history per conversation cached in Redis; PostgreSQL stays the source of truth.

The copy is a Redis list, newest first: the messages as JSON, then one marker telling whether older messages
exist ("more" or "end"). A writer, after its commit, pushes the message onto a copy that exists (LPUSHX, one
round trip, no read) and trims it; when the trim drops the marker, older messages exist. Concurrent writers
may push out of id order, so readers sort.

Each conversation also has a generation counter that every write bumps. A reader fills a missing copy from
the database only if the generation is still the one it saw before reading (WATCH/MULTI): a write that
committed meanwhile found no copy to push onto, so a fill that raced it is dropped, never served.
"""
import json
import logging

import redis

from app.extensions import redis_client

log = logging.getLogger(__name__)

HISTORY_SIZE = 50
TTL_SECONDS = 24 * 3600
MORE, END = b"more", b"end"


def _keys(conversation_id):
    base = f"chat:recent:{conversation_id}"
    return base, f"{base}:gen"


def _generation(raw):
    return int(raw) if raw is not None else 0


def recent(conversation_id):
    """(generation, cached) where cached is {"items": [...newest first], "more": bool} or None on a miss."""
    data_key, gen_key = _keys(conversation_id)
    try:
        with redis_client.client.pipeline() as pipe:  # MULTI: the copy and the generation of one moment
            pipe.get(gen_key)
            pipe.lrange(data_key, 0, -1)
            raw_gen, raw = pipe.execute()
    except redis.RedisError:
        log.warning("History cache unavailable", exc_info=True)
        return None, None
    generation = _generation(raw_gen)
    if not raw:
        return generation, None
    marker = raw[-1] if raw[-1] in (MORE, END) else None
    items = sorted((json.loads(entry) for entry in (raw[:-1] if marker else raw)), key=lambda m: m["id"],
                   reverse=True)
    more = marker != END or len(items) > HISTORY_SIZE
    return generation, {"items": items[:HISTORY_SIZE], "more": more}


def fill(conversation_id, generation, items, more):
    """Store what was read from the database, unless a write happened since ``generation`` was read."""
    if generation is None:
        return
    data_key, gen_key = _keys(conversation_id)
    entries = [json.dumps(item) for item in items[:HISTORY_SIZE]]
    entries.append(MORE if more or len(items) > HISTORY_SIZE else END)
    try:
        with redis_client.client.pipeline() as pipe:
            pipe.watch(gen_key)
            if _generation(pipe.get(gen_key)) != generation:
                return
            pipe.multi()
            pipe.delete(data_key)
            pipe.rpush(data_key, *entries)
            pipe.expire(data_key, TTL_SECONDS)
            pipe.execute()
    except redis.WatchError:
        return
    except redis.RedisError:
        log.warning("History cache unavailable", exc_info=True)


def add(conversation_id, item):
    """After a message is committed: push it onto an existing copy and bump the generation (one round trip)."""
    data_key, gen_key = _keys(conversation_id)
    try:
        with redis_client.client.pipeline() as pipe:  # MULTI/EXEC: atomic against a concurrent fill
            pipe.lpushx(data_key, json.dumps(item))
            # HISTORY_SIZE messages + the marker; a longer list loses the marker, which reads as "more".
            pipe.ltrim(data_key, 0, HISTORY_SIZE)
            pipe.expire(data_key, TTL_SECONDS)
            pipe.incr(gen_key)
            pipe.expire(gen_key, TTL_SECONDS)
            pipe.execute()
    except redis.RedisError:
        log.warning("History cache unavailable", exc_info=True)
