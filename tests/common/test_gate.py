"""FifoGate: a bounded section entered in arrival order."""
import threading
import time

import pytest

from app.common.gate import FifoGate


def _wait_until(predicate, timeout=5):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.001)


def test_at_most_limit_holders_and_waiters_enter_in_arrival_order():
    gate = FifoGate(2)
    release = [threading.Event() for _ in range(6)]
    entered, lock = [], threading.Lock()

    def worker(i):
        with gate:
            with lock:
                entered.append(i)
            release[i].wait(5)

    threads = []
    for i in range(6):  # started one by one, each queued before the next arrives
        thread = threading.Thread(target=worker, args=(i,))
        thread.start()
        threads.append(thread)
        _wait_until(lambda i=i: len(entered) == min(i + 1, 2) and gate.waiting == max(0, i + 1 - 2))
    assert entered == [0, 1] and gate.holders == 2
    for i in range(6):
        release[i].set()
        _wait_until(lambda i=i: len(entered) == min(6, i + 3) and gate.holders == min(2, 5 - i))
    for thread in threads:
        thread.join(5)
    assert entered == [0, 1, 2, 3, 4, 5]
    assert gate.holders == 0 and gate.waiting == 0


def test_a_freed_place_goes_to_the_waiter_not_to_a_newcomer():
    gate = FifoGate(1)
    gate.__enter__()
    order = []
    waiter = threading.Thread(target=lambda: (gate.__enter__(), order.append("waiter"), gate.__exit__(None, None, None)))
    waiter.start()
    _wait_until(lambda: gate.waiting == 1)
    gate.__exit__(None, None, None)  # handed to the waiter: the count of holders never drops to 0
    assert gate.holders == 1 or order == ["waiter"]
    with gate:
        order.append("newcomer")
    waiter.join(5)
    assert order == ["waiter", "newcomer"]


def test_an_exception_inside_releases_the_place():
    gate = FifoGate(1)
    with pytest.raises(ValueError), gate:
        raise ValueError("boom")
    assert gate.holders == 0
    with gate:
        assert gate.holders == 1


@pytest.mark.parametrize("limit", [0, None])
def test_no_limit(limit):
    gate = FifoGate(limit)
    with gate, gate, gate:
        assert gate.waiting == 0
