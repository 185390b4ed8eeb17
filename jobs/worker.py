"""Worker entry point: builds the app once, runs the periodic scheduler and an RQ worker on all queues.

    python -m jobs.worker            # Procfile's worker process

Settings come from the environment and ``.env`` (read by ``config`` on import, as for the web server).

Every worker runs a scheduler thread, but only the one holding the leader lease in Redis enqueues periodic jobs;
the lease expires when its holder dies, and another worker takes over where the schedule left off.
"""
import logging
import threading
import time
from datetime import UTC, datetime

from redis.exceptions import LockError
from redis.lock import Lock
from rq import SimpleWorker
from rq.cron import CronScheduler

from app import create_app
from app.extensions import JobQueues
from jobs.schedule import PERIODIC_JOBS

log = logging.getLogger("jobs.worker")


LEADER_KEY = "tutorhub:periodic:leader"
LEASE_SECONDS = 30


class PeriodicLeader:
    """Enqueues periodic jobs while this process holds the leader lease (a Redis lock with expiry).

    ``tick()`` takes the lease when free, renews it while leading, and steps down when it was lost (expired and
    taken by another worker); a new leader reads each job's last enqueue time from RQ's history, so a hand-over
    enqueues nothing early."""

    def __init__(self, connection, jobs=PERIODIC_JOBS, lease=LEASE_SECONDS):
        self.connection = connection
        self.jobs = jobs
        self.lease = lease
        self.lock = Lock(connection, LEADER_KEY, timeout=lease, blocking=False, thread_local=False)
        self.scheduler = None

    @property
    def leading(self):
        return self.scheduler is not None

    def tick(self):
        """Take or renew the lease, enqueue the jobs that are due; returns the seconds to wait until the next tick."""
        poll = self.lease / 3
        if self.scheduler is None:
            if not self.lock.acquire(blocking=False):
                return poll
            log.info("Periodic scheduler: leading")
            self.scheduler = self._resumed_scheduler()
        else:
            try:
                self.lock.extend(self.lease, replace_ttl=True)
            except LockError:
                log.warning("Periodic scheduler: lease lost, following")
                self.scheduler = None
                return poll
        self.scheduler.enqueue_jobs()
        return min(max(self.scheduler.calculate_sleep_interval(), 0.5), poll)

    def stop(self):
        """Step down and free the lease at once, so another worker need not wait for it to expire."""
        if self.scheduler is None:
            return
        self.scheduler = None
        try:
            self.lock.release()
        except LockError:
            pass

    def _resumed_scheduler(self):
        scheduler = CronScheduler(connection=self.connection, name=f"tutorhub-cron-{time.time_ns()}")
        for func, interval, queue_name in self.jobs:
            job = scheduler.register(func, queue_name=queue_name, interval=interval)
            last = self.connection.zrevrange(job.job_history_key, 0, 0, withscores=True)
            if last:
                job.set_enqueue_time(datetime.fromtimestamp(last[0][1], UTC))
        return scheduler


def run_periodic(connection, stop_event, lease=LEASE_SECONDS):
    """Drive a PeriodicLeader from a thread of this worker until ``stop_event`` is set, then free the lease."""
    leader = PeriodicLeader(connection, lease=lease)
    try:
        while not stop_event.is_set():
            try:
                delay = leader.tick()
            except Exception:
                log.exception("Periodic scheduler tick failed")
                delay = leader.lease / 3
            stop_event.wait(delay)
    finally:
        leader.stop()


def run_inline_periodic(app, stop_event):
    """Embedded default (no Redis worker): call the periodic jobs directly in a background thread."""
    last_run = {}
    while not stop_event.is_set():
        now = time.monotonic()
        for func, interval, _queue in PERIODIC_JOBS:
            if now - last_run.get(func, 0) >= interval:
                last_run[func] = now
                with app.app_context():
                    try:
                        func()
                    except Exception:
                        log.exception("Inline periodic job %s failed", func.__name__)
        stop_event.wait(1)


def start_inline_periodic(app):
    stop_event = threading.Event()
    thread = threading.Thread(target=run_inline_periodic, args=(app, stop_event), daemon=True, name="periodic")
    thread.start()
    return stop_event


def main():
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app()
    with app.app_context():
        stop_event = threading.Event()
        cron = threading.Thread(target=run_periodic, args=(app.extensions["redis"], stop_event), daemon=True,
                                name="cron")
        cron.start()
        queues = [app.extensions["queues"][name] for name in JobQueues.NAMES]
        worker = SimpleWorker(queues, connection=app.extensions["redis"])
        try:
            worker.work(with_scheduler=True)
        finally:
            stop_event.set()
            cron.join(5)  # frees the lease, so another worker leads at once


if __name__ == "__main__":
    main()
