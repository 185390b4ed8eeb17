"""Calendar sync: connections (encrypted tokens, cursor, push channel, backoff), OAuth states, pushed events

Revision ID: 0023
Revises: 0022

calendar_connections: one per user and provider; tokens encrypted with app.common.crypto; status active/broken
with the reason; the incremental cursor (Google sync token, Graph delta link); the push channel (id, resource,
keyed digest of its token, expiry, next renewal); backoff_until after a rate limit.
calendar_oauth_states: one-time authorization states (keyed digest) bound to the user, with the PKCE verifier.
calendar_pushed_events: booking ↔ the provider's event id per connection.
busy_blocks gets an index on (user_id, source, external_id) for the sync's upserts.
"""
import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "calendar_connections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("account_email", sa.String(length=255), nullable=True),
        sa.Column("tokens_encrypted", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("broken_reason", sa.String(length=500), nullable=True),
        sa.Column("broken_notified_at", TIME, nullable=True),
        sa.Column("sync_cursor", sa.Text(), nullable=True),
        sa.Column("last_synced_at", TIME, nullable=True),
        sa.Column("channel_id", sa.String(length=255), nullable=True),
        sa.Column("channel_resource_id", sa.String(length=255), nullable=True),
        sa.Column("channel_token_digest", sa.String(length=64), nullable=True),
        sa.Column("channel_expires_at", TIME, nullable=True),
        sa.Column("next_renewal_at", TIME, nullable=True),
        sa.Column("backoff_until", TIME, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.CheckConstraint("provider IN ('google', 'outlook')", name=op.f("ck_calendar_connections_provider_known")),
        sa.CheckConstraint("status IN ('active', 'broken')", name=op.f("ck_calendar_connections_status_known")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_calendar_connections_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_connections")),
        sa.UniqueConstraint("channel_id", name=op.f("uq_calendar_connections_channel_id")),
        sa.UniqueConstraint("user_id", "provider", name="uq_calendar_connections_user_provider"),
    )
    op.create_index(op.f("ix_calendar_connections_user_id"), "calendar_connections", ["user_id"])
    op.create_table(
        "calendar_oauth_states",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state_digest", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("code_verifier_encrypted", sa.Text(), nullable=False),
        sa.Column("redirect_uri", sa.String(length=1000), nullable=False),
        sa.Column("expires_at", TIME, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_calendar_oauth_states_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_oauth_states")),
        sa.UniqueConstraint("state_digest", name=op.f("uq_calendar_oauth_states_state_digest")),
    )
    op.create_index(op.f("ix_calendar_oauth_states_user_id"), "calendar_oauth_states", ["user_id"])
    op.create_table(
        "calendar_pushed_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(length=1024), nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(["booking_id"], ["bookings.id"],
                                name=op.f("fk_calendar_pushed_events_booking_id_bookings"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["connection_id"], ["calendar_connections.id"],
                                name=op.f("fk_calendar_pushed_events_connection_id_calendar_connections"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_pushed_events")),
        sa.UniqueConstraint("connection_id", "booking_id", name="uq_calendar_pushed_events_connection_booking"),
    )
    op.create_index(op.f("ix_calendar_pushed_events_booking_id"), "calendar_pushed_events", ["booking_id"])
    op.create_index("ix_busy_blocks_user_source_external", "busy_blocks", ["user_id", "source", "external_id"])


def downgrade():
    op.drop_index("ix_busy_blocks_user_source_external", table_name="busy_blocks")
    op.drop_index(op.f("ix_calendar_pushed_events_booking_id"), table_name="calendar_pushed_events")
    op.drop_table("calendar_pushed_events")
    op.drop_index(op.f("ix_calendar_oauth_states_user_id"), table_name="calendar_oauth_states")
    op.drop_table("calendar_oauth_states")
    op.drop_index(op.f("ix_calendar_connections_user_id"), table_name="calendar_connections")
    op.drop_table("calendar_connections")
