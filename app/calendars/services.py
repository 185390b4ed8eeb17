"""ICS feed tokens and the per-user feed of sessions (built by scheduling), and the door to calendar sync
(connections.py: OAuth, stored grants, notifications; sync.py: sessions pushed out, busy time pulled in, push
channels). The caller's unit of work commits."""
from datetime import timedelta

import sqlalchemy as sa

from app.calendars.connections import (  # noqa: F401  (re-exported)
    complete_connection,
    delete_connection,
    get_connection,
    google_notification,
    graph_notifications,
    list_connections,
    rotate_tokens,
    start_connection,
)
from app.calendars.models import CalendarFeedToken
from app.calendars.sync import (  # noqa: F401  (re-exported)
    channels_due,
    clean_up_disconnected,
    connection_ids_for,
    connections_due_for_poll,
    mark_broken,
    pull_busy,
    push_booking,
    push_possible,
    renew_channel,
)
from app.common import time as clock
from app.common.errors import NotFound
from app.common.security import keyed_digest, random_token
from app.extensions import db
from app.scheduling import services as scheduling
from app.users.models import User

FEED_STATES = ("confirmed", "in_progress", "completed", "no_show", "cancelled")
FEED_HISTORY = timedelta(days=90)


def issue_feed_token(user):
    """A new secret feed token; any previous one stops working. Returns the raw token (shown once) and its row."""
    token = random_token(24)
    db.session.execute(sa.delete(CalendarFeedToken).where(CalendarFeedToken.user_id == user.id))
    row = CalendarFeedToken(user_id=user.id, token_digest=keyed_digest(token))
    db.session.add(row)
    db.session.flush()
    return token, row


def revoke_feed_token(user):
    deleted = db.session.execute(sa.delete(CalendarFeedToken).where(CalendarFeedToken.user_id == user.id)).rowcount
    if not deleted:
        raise NotFound("No calendar feed token to revoke.")


def feed_for_token(token, now=None):
    """The RFC 5545 calendar of the token owner's sessions (cancelled ones as STATUS:CANCELLED)."""
    now = now or clock.utcnow()
    row = db.session.scalar(sa.select(CalendarFeedToken).where(CalendarFeedToken.token_digest == keyed_digest(token)))
    user = db.session.get(User, row.user_id) if row else None
    if user is None or not user.is_active:
        raise NotFound("No such calendar feed.")
    row.last_used_at = now
    return scheduling.calendar_feed(user.id, FEED_STATES, now - FEED_HISTORY, name=f"Tutorhub sessions: {user.full_name}")

