"""A first-come, first-served limit on how many callers run a section at once."""
import collections
import threading


class FifoGate:
    """At most ``limit`` holders at once; the others wait and enter strictly in arrival order.

    A freed place is handed to the longest waiter directly (never to a caller that arrives meanwhile), so
    under a backlog the oldest work goes first. Works with threads and, monkey-patched, with eventlet's
    greenthreads. ``limit`` 0 or None: no limit.
    """

    def __init__(self, limit):
        self.limit = limit or 0
        self._lock = threading.Lock()
        self._holders = 0
        self._waiters = collections.deque()

    def __enter__(self):
        if not self.limit:
            return self
        with self._lock:
            if self._holders < self.limit and not self._waiters:
                self._holders += 1
                return self
            turn = threading.Event()
            self._waiters.append(turn)
        try:
            turn.wait()  # the place was handed over by __exit__: _holders already counts this caller
        except BaseException:  # interrupted (e.g. a killed greenthread): leave the queue, or pass the place on
            with self._lock:
                handed = turn.is_set()
                if not handed:
                    self._waiters.remove(turn)
            if handed:
                self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *_exc):
        if not self.limit:
            return False
        with self._lock:
            if self._waiters:
                self._waiters.popleft().set()  # hand the place over: _holders stays the same
            else:
                self._holders -= 1
        return False

    @property
    def waiting(self):
        return len(self._waiters)

    @property
    def holders(self):
        return self._holders
