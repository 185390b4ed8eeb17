"""An RQ worker (a process of the test's own, on a redis-server of its own) SIGKILLed in the middle of an outbox
delivery: the message is neither lost nor sent twice.

The worker claims the message (committed) and opens the SMTP transaction; the test's SMTP server holds the
recipient command until the worker is dead, so the server never accepts that first attempt. Another worker's
dispatcher (the periodic ``dispatch_due_outbox``) takes the message over once the dead worker's claim lease has
run out, sends it once, and later runs send nothing more.
"""
import asyncio
import signal
import threading
import time

import pytest
import redis
from aiosmtpd.controller import Controller
from rq import Queue

from app.notifications.models import OutboxMessage
from jobs.tasks import dispatch_due_outbox
from tests.conftest import free_port
from tests.factories import OutboxMessageFactory

LEASE_SECONDS = 2
DELIVER = "jobs.tasks.deliver_outbox_message"
DISPATCH = "jobs.tasks.dispatch_due_outbox"


class HoldingInbox:
    """aiosmtpd handler: keeps accepted messages; while ``hold`` is set, RCPT waits (a delivery in flight)."""

    def __init__(self):
        self.messages = []
        self.hold = threading.Event()
        self.holding = threading.Event()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd's hook)
        while self.hold.is_set():
            self.holding.set()
            await asyncio.sleep(0.05)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook)
        self.messages.append(envelope.content)
        return "250 Message accepted for delivery"


@pytest.fixture
def inbox():
    handler = HoldingInbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.port = controller.port
    yield handler
    handler.hold.clear()
    controller.stop()


def _row(db, message_id):
    db.session.expire_all()
    return db.session.get(OutboxMessage, message_id)


def _finished(job, timeout=30):
    deadline = time.monotonic() + timeout
    while not job.is_finished:
        assert not job.is_failed, job.latest_result()
        assert time.monotonic() < deadline, f"job {job.func_name} did not finish"
        time.sleep(0.05)
    return job.return_value()


def test_worker_killed_mid_delivery_loses_nothing_and_sends_nothing_twice(db, redis_server, start_child, inbox):
    message_id = OutboxMessageFactory(recipient="kim@example.com", subject="Your booking").id
    connection = redis.Redis.from_url(redis_server.url)
    queue, survivors_queue = Queue("default", connection=connection), Queue("survivor", connection=connection)
    env = {"REDIS_URL": redis_server.url, "MAIL_PORT": inbox.port, "OUTBOX_CLAIM_LEASE_SECONDS": LEASE_SECONDS}
    # Both workers start at once (building the app takes seconds); the survivor listens on a queue of its own.
    doomed = start_child("work", wait=False, **env)
    survivor = start_child("work", wait=False, WORKER_QUEUE="survivor", **env)
    doomed.ready()
    survivor.ready()

    inbox.hold.set()
    queue.enqueue(DELIVER, message_id)
    assert inbox.holding.wait(30), "the worker never reached the SMTP server"
    row = _row(db, message_id)
    assert (row.status, row.attempts) == ("sending", 1)  # claimed and committed before sending

    doomed.kill(signal.SIGKILL)
    inbox.hold.clear()
    assert inbox.messages == []
    # Nothing recorded, nothing lost: the claim is still there, and while its lease (here the default, 300 s)
    # runs a dispatcher leaves the message alone.
    assert dispatch_due_outbox() == 0
    assert _row(db, message_id).status == "sending"

    time.sleep(LEASE_SECONDS + 0.5)
    assert _finished(survivors_queue.enqueue(DISPATCH)) == 1
    row = _row(db, message_id)
    assert (row.status, row.attempts) == ("sent", 2)
    assert len(inbox.messages) == 1 and b"Your booking" in inbox.messages[0]

    # The dead worker's delivery job, run again, and later dispatches send nothing more.
    assert _finished(survivors_queue.enqueue(DELIVER, message_id)) is None
    time.sleep(LEASE_SECONDS + 0.5)
    assert _finished(survivors_queue.enqueue(DISPATCH)) == 0
    assert len(inbox.messages) == 1
