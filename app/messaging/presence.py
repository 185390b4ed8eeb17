"""Online presence in Redis with expiry, typing throttle and the per-user message rate limit.

Each user has a sorted set of their live socket ids scored by an expiry time. Sockets are refreshed by a
heartbeat (a background task of each server process, and the client's ``presence:heartbeat`` event);
a crashed process stops refreshing, so its sockets lapse after PRESENCE_TTL and the user reads as offline.
"""
import logging
import threading
import time

from flask import current_app

from app.common.errors import TooManyRequests
from app.extensions import redis_client

log = logging.getLogger(__name__)

PRESENCE_TTL = 60
HEARTBEAT_SECONDS = 20
# Sockets refreshed per Redis pipeline by the process's refresher; it yields to other work between batches.
HEARTBEAT_BATCH = 100
TYPING_THROTTLE_MS = 1500


def _key(user_id):
    return f"presence:{user_id}"


def mark_online(user_id, sid):
    """Register a socket; True when the user was offline before it."""
    now = time.time()
    key = _key(user_id)
    pipe = redis_client.client.pipeline()
    pipe.zremrangebyscore(key, "-inf", now)
    pipe.zcard(key)
    pipe.zadd(key, {sid: now + PRESENCE_TTL})
    pipe.expire(key, PRESENCE_TTL)
    _, before, _, _ = pipe.execute()
    return before == 0


def mark_offline(user_id, sid):
    """Forget a socket; True when it was the user's last live one."""
    now = time.time()
    key = _key(user_id)
    pipe = redis_client.client.pipeline()
    pipe.zrem(key, sid)
    pipe.zcount(key, now, "+inf")
    _, remaining = pipe.execute()
    return remaining == 0


def heartbeat(sockets):
    """Push the expiry of live sockets forward: {sid: user_id}."""
    if not sockets:
        return
    expires = time.time() + PRESENCE_TTL
    pipe = redis_client.client.pipeline()
    for sid, user_id in sockets.items():
        pipe.zadd(_key(user_id), {sid: expires})
        pipe.expire(_key(user_id), PRESENCE_TTL)
    pipe.execute()


def refresh(sockets, pause):
    """Heartbeat {sid: user_id} in batches of HEARTBEAT_BATCH, calling ``pause(0)`` between two batches.

    One pipeline for every socket of a process is built and parsed in one go, while an eventlet server runs
    nothing else; between batches the other greenthreads (chat messages in flight) get their turn.
    """
    items = list(sockets.items())
    for start in range(0, len(items), HEARTBEAT_BATCH):
        if start:
            pause(0)
        heartbeat(dict(items[start:start + HEARTBEAT_BATCH]))


def online(user_ids):
    """{user_id: bool}, counting only sockets whose expiry is still ahead."""
    user_ids = list(dict.fromkeys(user_ids))
    if not user_ids:
        return {}
    now = time.time()
    pipe = redis_client.client.pipeline()
    for user_id in user_ids:
        pipe.zcount(_key(user_id), now, "+inf")
    return {user_id: count > 0 for user_id, count in zip(user_ids, pipe.execute(), strict=True)}


def allow_typing(user_id, conversation_id):
    """At most one typing signal per user and conversation every TYPING_THROTTLE_MS."""
    key = f"typing:{user_id}:{conversation_id}"
    return bool(redis_client.client.set(key, "1", nx=True, px=TYPING_THROTTLE_MS))


def check_message_rate(user_id):
    """Fixed-window limit on messages per user (config MESSAGE_RATE_LIMIT = count, MESSAGE_RATE_WINDOW = s).

    Counts one message and returns the window's key (for ``refund_message_rate``); raises 429 past the limit.
    One round trip (a plain pipeline: INCR and EXPIRE need no MULTI/EXEC around them).
    """
    limit = int(current_app.config.get("MESSAGE_RATE_LIMIT", 30))
    window = int(current_app.config.get("MESSAGE_RATE_WINDOW", 10))
    bucket = int(time.time() // window)
    key = f"chat:rate:{user_id}:{bucket}"
    pipe = redis_client.client.pipeline(transaction=False)
    pipe.incr(key)
    pipe.expire(key, window + 1)
    count, _ = pipe.execute()
    if count > limit:
        retry_after = max(1, int((bucket + 1) * window - time.time()) + 1)
        raise TooManyRequests(f"Too many messages: at most {limit} per {window} seconds.",
                              headers={"Retry-After": str(retry_after)})
    return key


def refund_message_rate(key):
    """Give back what ``check_message_rate`` counted, for a send that turned out not to be a new message."""
    try:
        redis_client.client.decr(key)
    except Exception:  # the count only errs on the strict side
        log.warning("Could not refund a message rate count", exc_info=True)


_refresher_lock = threading.Lock()
_refresher_started = False


def start_refresher(socketio, connected_sockets):
    """Once per process: refresh this process's sockets every HEARTBEAT_SECONDS."""
    global _refresher_started
    with _refresher_lock:
        if _refresher_started:
            return
        _refresher_started = True
    app = current_app._get_current_object()

    def refresh_forever():
        while True:
            socketio.sleep(HEARTBEAT_SECONDS)
            try:
                with app.app_context():
                    refresh(connected_sockets(), socketio.sleep)
            except Exception:  # Redis hiccup: try again next beat
                log.warning("Presence heartbeat failed", exc_info=True)

    socketio.start_background_task(refresh_forever)
