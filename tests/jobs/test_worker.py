"""One periodic scheduler across all workers: a Redis lease decides the leader, a follower takes over."""
import threading
import time

import fakeredis
import pytest
from rq import Queue

from jobs.schedule import PERIODIC_JOBS
from jobs.worker import PeriodicLeader, run_periodic

QUEUES = ("high", "default", "low")


@pytest.fixture
def server():
    return fakeredis.FakeServer()


def connect(server):
    return fakeredis.FakeRedis(server=server)


def enqueued(server):
    connection = connect(server)
    return sum(Queue(name, connection=connection).count for name in QUEUES)


def test_only_the_leader_enqueues(server):
    first, second = PeriodicLeader(connect(server)), PeriodicLeader(connect(server))
    for _ in range(3):
        first.tick()
        second.tick()
    assert first.leading and not second.leading
    assert enqueued(server) == len(PERIODIC_JOBS)


def test_a_stopped_leader_hands_over_and_the_schedule_resumes(server):
    first, second = PeriodicLeader(connect(server)), PeriodicLeader(connect(server))
    first.tick()
    second.tick()
    first.stop()
    second.tick()
    assert second.leading and not first.leading
    # The new leader reads when each job last ran: nothing is due again yet.
    assert enqueued(server) == len(PERIODIC_JOBS)


def test_a_killed_leaders_lease_expires(server):
    first, second = PeriodicLeader(connect(server), lease=1), PeriodicLeader(connect(server), lease=1)
    first.tick()
    second.tick()
    assert not second.leading
    time.sleep(1.3)  # the leader is killed: it neither renews nor releases its lease
    second.tick()
    assert second.leading
    first.tick()  # a leader that comes back after its lease expired steps down
    assert not first.leading and second.leading
    assert enqueued(server) == len(PERIODIC_JOBS)


def test_two_worker_threads_enqueue_each_job_once(server):
    stop = threading.Event()
    threads = [threading.Thread(target=run_periodic, args=(connect(server), stop), daemon=True) for _ in range(2)]
    for thread in threads:
        thread.start()
    time.sleep(1)
    stop.set()
    for thread in threads:
        thread.join(5)
    assert not any(thread.is_alive() for thread in threads)
    assert enqueued(server) == len(PERIODIC_JOBS)
    assert not connect(server).keys("tutorhub:periodic:leader")  # released on a clean stop
