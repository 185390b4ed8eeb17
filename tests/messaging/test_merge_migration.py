"""Migration 0018 merges the per-booking conversations of a pair into the pair's one conversation."""
import json

import sqlalchemy as sa

from tests.test_migrations import _flask_db, scratch_database_url  # noqa: F401 (fixture)

NOW = "2026-11-01 10:00:00+00:00"


def _user(connection, user_id):
    connection.execute(sa.text(
        "INSERT INTO users (id, email, password_hash, full_name, bio, timezone, locale, learning_styles, preferences, "
        "social_links, is_active, token_version, mfa_enabled, created_at, updated_at) VALUES (:id, :email, 'x', "
        ":name, '', 'UTC', 'en', :empty_list, :empty, :empty, true, 1, false, :now, :now)"),
        {"id": user_id, "email": f"u{user_id}@example.com", "name": f"User {user_id}", "empty_list": json.dumps([]),
         "empty": json.dumps({}), "now": NOW})


def _booking(connection, booking_id, tutor_id, student_id):
    connection.execute(sa.text(
        "INSERT INTO bookings (id, tutor_id, student_id, subject, note, state, start_at, end_at, duration_minutes, "
        "tutor_range_start, tutor_range_end, sequence, is_repeat, created_at, updated_at) VALUES (:id, :tutor, "
        ":student, 'calculus', '', 'confirmed', :start, :end, 60, :start, :end, 0, false, :now, :now)"),
        {"id": booking_id, "tutor": tutor_id, "student": student_id, "start": f"2026-12-0{booking_id} 10:00:00+00:00",
         "end": f"2026-12-0{booking_id} 11:00:00+00:00", "now": NOW})


def _conversation(connection, conversation_id, members, booking_id=None, read=None):
    low, high = sorted(members)
    connection.execute(sa.text(
        "INSERT INTO conversations (id, kind, user_low_id, user_high_id, booking_id, created_at) "
        "VALUES (:id, :kind, :low, :high, :booking, :now)"),
        {"id": conversation_id, "kind": "booking" if booking_id else "pair", "low": None if booking_id else low,
         "high": None if booking_id else high, "booking": booking_id, "now": NOW})
    for user_id in members:
        connection.execute(sa.text(
            "INSERT INTO conversation_participants (conversation_id, user_id, last_read_message_id, "
            "last_digest_message_id, joined_at) VALUES (:c, :u, :read, 0, :now)"),
            {"c": conversation_id, "u": user_id, "read": (read or {}).get(user_id, 0), "now": NOW})


def _message(connection, message_id, conversation_id, sender_id):
    connection.execute(sa.text(
        "INSERT INTO messages (id, conversation_id, sender_id, body, created_at) VALUES (:id, :c, :s, :body, :at)"),
        {"id": message_id, "c": conversation_id, "s": sender_id, "body": f"message {message_id}",
         "at": f"2026-11-0{message_id} 09:00:00+00:00"})


def test_duplicate_threads_are_merged_into_the_pair(scratch_database_url):  # noqa: F811
    _flask_db(scratch_database_url, "upgrade", "0013")
    engine = sa.create_engine(scratch_database_url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as connection:
            for user_id in (1, 2, 3, 4):
                _user(connection, user_id)
            for booking_id, tutor, student in ((1, 1, 2), (2, 1, 2), (3, 1, 2), (4, 3, 4)):
                _booking(connection, booking_id, tutor, student)
            _conversation(connection, 10, [1, 2])                        # the pair's chat
            _conversation(connection, 11, [1, 2], booking_id=1, read={2: 3})
            _conversation(connection, 12, [1, 2], booking_id=2)
            _conversation(connection, 13, [2, 1], booking_id=3)
            _conversation(connection, 14, [3, 4], booking_id=4)          # no pair chat yet: becomes the pair's
            _message(connection, 1, 10, 2)
            _message(connection, 2, 11, 1)
            _message(connection, 3, 12, 2)
            _message(connection, 4, 14, 3)
        _flask_db(scratch_database_url, "upgrade")
        with engine.connect() as connection:
            conversations = connection.execute(sa.text(
                "SELECT id, kind, user_low_id, user_high_id, booking_id, last_message_id FROM conversations "
                "ORDER BY id")).all()
            assert [tuple(row) for row in conversations] == [(10, "pair", 1, 2, None, 3), (14, "pair", 3, 4, None, None)]
            placed = dict(connection.execute(sa.text("SELECT id, conversation_id FROM messages")).all())
            assert placed == {1: 10, 2: 10, 3: 10, 4: 14}
            kinds = set(connection.execute(sa.text("SELECT kind FROM messages")).scalars())
            assert kinds == {"text"}
            markers = dict(connection.execute(sa.text(
                "SELECT user_id, last_read_message_id FROM conversation_participants WHERE conversation_id = 10")).all())
            assert markers == {1: 0, 2: 3}
        _flask_db(scratch_database_url, "downgrade", "0013")
    finally:
        engine.dispose()
