"""Periodic jobs: (function, seconds between runs, queue). Domains add theirs here."""
from jobs import tasks

PERIODIC_JOBS = [
    (tasks.dispatch_due_outbox, 30, "default"),
    (tasks.send_message_digests, 300, "low"),
]
