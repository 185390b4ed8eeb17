"""Recent history per conversation cached in Redis; PostgreSQL stays the source of truth.

Each conversation has a generation counter. A writer bumps it after commit and, when the cached copy is of
the previous generation, merges the new message in (WATCH/MULTI, so a concurrent change just invalidates).
A reader only trusts a copy whose generation is the current one, so a copy filled from a read that raced a
write is never served.
"""
import json
import logging

import redis

from app.extensions import redis_client

log = logging.getLogger(__name__)

HISTORY_SIZE = 50
TTL_SECONDS = 24 * 3600


def _keys(conversation_id):
    base = f"chat:history:{conversation_id}"
    return base, f"{base}:gen"


def _generation(raw):
    return int(raw) if raw is not None else 0


def recent(conversation_id):
    """(generation, cached) where cached is {"items": [...newest first], "more": bool} or None on a miss."""
    data_key, gen_key = _keys(conversation_id)
    try:
        raw_gen, raw = redis_client.client.mget(gen_key, data_key)
    except redis.RedisError:
        log.warning("History cache unavailable", exc_info=True)
        return None, None
    generation = _generation(raw_gen)
    if raw is None:
        return generation, None
    cached = json.loads(raw)
    if cached.get("gen") != generation:
        return generation, None
    return generation, cached


def fill(conversation_id, generation, items, more):
    """Store what was read from the database, unless a write happened since ``generation`` was read."""
    if generation is None:
        return
    data_key, gen_key = _keys(conversation_id)
    payload = json.dumps({"gen": generation, "items": items[:HISTORY_SIZE], "more": more})
    try:
        with redis_client.client.pipeline() as pipe:
            pipe.watch(gen_key)
            if _generation(pipe.get(gen_key)) != generation:
                return
            pipe.multi()
            pipe.set(data_key, payload, ex=TTL_SECONDS)
            pipe.execute()
    except redis.WatchError:
        return
    except redis.RedisError:
        log.warning("History cache unavailable", exc_info=True)


def add(conversation_id, item):
    """After a message is committed: bump the generation and merge the message into a current copy."""
    data_key, gen_key = _keys(conversation_id)
    client = redis_client.client
    try:
        with client.pipeline() as pipe:
            try:
                pipe.watch(gen_key, data_key)
                generation = _generation(pipe.get(gen_key))
                raw = pipe.get(data_key)
                pipe.multi()
                pipe.incr(gen_key)
                pipe.expire(gen_key, TTL_SECONDS)
                cached = json.loads(raw) if raw else None
                if cached and cached.get("gen") == generation:
                    merged = {m["id"]: m for m in cached["items"]}
                    merged[item["id"]] = item
                    items = sorted(merged.values(), key=lambda m: m["id"], reverse=True)
                    more = cached["more"] or len(items) > HISTORY_SIZE
                    pipe.set(data_key, json.dumps({"gen": generation + 1, "items": items[:HISTORY_SIZE],
                                                   "more": more}), ex=TTL_SECONDS)
                pipe.execute()
            except redis.WatchError:
                client.incr(gen_key)  # someone else changed it meanwhile: just invalidate
    except redis.RedisError:
        log.warning("History cache unavailable", exc_info=True)
