"""Worker entry point: builds the app once, runs the periodic scheduler and an RQ worker on all queues.

    python -m jobs.worker            # Procfile's worker process
"""
import logging
import threading
import time

from rq import SimpleWorker
from rq.cron import CronScheduler

from app import create_app
from app.extensions import JobQueues
from jobs.schedule import PERIODIC_JOBS

log = logging.getLogger("jobs.worker")


def run_periodic(app, stop_event):
    """Enqueue periodic jobs when due (RQ's CronScheduler, driven from a thread of this process)."""
    scheduler = CronScheduler(connection=app.extensions["redis"], name=f"tutorhub-cron-{time.time_ns()}")
    for func, interval, queue_name in PERIODIC_JOBS:
        scheduler.register(func, queue_name=queue_name, interval=interval)
    while not stop_event.is_set():
        try:
            scheduler.enqueue_jobs()
        except Exception:
            log.exception("Periodic scheduler tick failed")
        stop_event.wait(min(max(scheduler.calculate_sleep_interval(), 1), 30))


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
        threading.Thread(target=run_periodic, args=(app, stop_event), daemon=True, name="cron").start()
        queues = [app.extensions["queues"][name] for name in JobQueues.NAMES]
        worker = SimpleWorker(queues, connection=app.extensions["redis"])
        try:
            worker.work(with_scheduler=True)
        finally:
            stop_event.set()


if __name__ == "__main__":
    main()
