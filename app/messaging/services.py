"""Messaging's public face: routes, socket events, subscribers, jobs, other domains and the admin portal call
these. The rules live in the modules behind it: conversations.py (who talks with whom), messages.py (send,
history, read markers, typing), queries.py (the send's writes), attachments.py, blocks.py, presence.py (Redis:
online state, throttles, the rate limit), cache.py (recent history in Redis), listing.py (conversation views)
and digest.py (email digests); pair_history.py reads two users' chat for the admin portal (never creating it).

Services never commit; what they change is announced with events after the caller's unit of work commits:
``message.created``, ``message.read``, ``conversation.typing`` (socket emits in ``subscribers.py``) and
notifications' ``notification.created``.
"""
from app.messaging.attachments import ALLOWED_TYPES as ATTACHMENT_TYPES
from app.messaging.attachments import delete_stale_uploads, public_attachment
from app.messaging.attachments import get_visible as get_visible_attachment
from app.messaging.attachments import max_bytes as attachment_max_bytes
from app.messaging.attachments import sniff as sniff_attachment
from app.messaging.attachments import upload as upload_attachment
from app.messaging.blocks import block, blocked_by_any, unblock
from app.messaging.conversations import (
    add_booking_conversation,
    contacts_of,
    conversation_room,
    get_for_participant,
    get_or_create_pair,
    list_query,
    pair_conversation_id,
)
from app.messaging.digest import queue_message_digests
from app.messaging.listing import conversation_view, conversation_views
from app.messaging.messages import (
    MAX_ATTACHMENTS,
    MAX_BODY,
    MAX_LIMIT,
    list_messages,
    mark_read,
    post_booking_line,
    send_message,
    signal_typing,
)
from app.messaging.pair_history import pair_history
from app.messaging.presence import heartbeat, mark_offline, mark_online, online, start_refresher
from app.messaging.response_times import reply_delays

__all__ = [
    "ATTACHMENT_TYPES",
    "MAX_ATTACHMENTS",
    "MAX_BODY",
    "MAX_LIMIT",
    "add_booking_conversation",
    "attachment_max_bytes",
    "block",
    "blocked_by_any",
    "contacts_of",
    "conversation_room",
    "conversation_view",
    "conversation_views",
    "delete_stale_uploads",
    "get_for_participant",
    "get_or_create_pair",
    "get_visible_attachment",
    "heartbeat",
    "list_messages",
    "list_query",
    "mark_offline",
    "mark_online",
    "mark_read",
    "online",
    "pair_conversation_id",
    "pair_history",
    "post_booking_line",
    "public_attachment",
    "queue_message_digests",
    "reply_delays",
    "send_message",
    "signal_typing",
    "sniff_attachment",
    "start_refresher",
    "unblock",
    "upload_attachment",
]
