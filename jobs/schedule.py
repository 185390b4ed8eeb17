"""Periodic jobs: (function, seconds between runs, queue). Domains add theirs here."""
from config import Config
from jobs import tasks

PERIODIC_JOBS = [
    (tasks.dispatch_due_outbox, 30, "default"),
    (tasks.dispatch_due_webhooks, 30, "default"),
    (tasks.expire_booking_requests, 60, "default"),
    (tasks.release_closed_review_windows, 300, "default"),
    (tasks.release_due_escrow, 300, "default"),
    (tasks.renew_subscriptions, Config.PACKAGE_RENEWAL_INTERVAL_SECONDS, "default"),
    (tasks.purge_expired_idempotency_keys, 3600, "low"),
    (tasks.purge_webhook_delivery_log, 3600, "low"),
    (tasks.sync_pending_payouts, 600, "default"),
    (tasks.refresh_bayesian_ratings, 3600, "default"),
    (tasks.send_message_digests, 300, "low"),
    (tasks.delete_stale_uploads, 3600, "low"),
    (tasks.renew_calendar_channels, 600, "default"),
    (tasks.poll_calendars, 60, "low"),
    (tasks.rollup_analytics, 3600, "low"),
    (tasks.train_matching_model, 86400, "low"),
    (tasks.prune_match_log, 86400, "low"),
]
