"""Process start-up for long-running servers."""
import gc
import logging
import socket
import time

log = logging.getLogger(__name__)


def freeze_startup_heap():
    """Exempt what start-up allocated (modules, SQLAlchemy mappers, schemas, the app) from garbage collection.

    A full (generation 2) collection walks every tracked object, and while it runs an eventlet hub runs nothing:
    every message in flight waits, and the backlog behind it longer still. Start-up objects live as long as the
    process; frozen, they are never walked again. Call once, after the app is built and before serving.
    """
    gc.collect()
    gc.freeze()


# Python runs a full collection by itself after 10 young-generation (1) collections once the long-lived
# heap has grown by a quarter; with this threshold it never does, and schedule_full_collections does.
NO_AUTOMATIC_FULL_COLLECTION = 1_000_000_000


def schedule_full_collections(interval, start_background_task, sleep, middle_threshold=None):
    """Full (generation 2) collections every ``interval`` seconds from a background task, none otherwise.

    What a server allocates while serving (every connected socket is a few hundred objects: greenthread,
    engine.io socket, queues, timers) is not frozen; with many sockets a full collection is a stall of every
    message in flight, at moments Python picks. Young collections stay automatic, as Python sets them;
    long-lived cyclic garbage is reclaimed on this schedule (one such pause per interval, at a known rate).
    ``interval`` 0 or None: Python's automatic full collections, unchanged. Returns the background task, or None.

    ``middle_threshold``: young (generation 0) collections between two generation-1 collections (Python's
    default 10). Each generation-1 collection walks what survived the young ones since the last, so a smaller
    threshold gives shorter, more frequent pauses for about the same total (measured pauses: bench/README.md).
    """
    young, middle, full = gc.get_threshold()
    if middle_threshold:
        middle = middle_threshold
    if interval:
        full = NO_AUTOMATIC_FULL_COLLECTION
    gc.set_threshold(young, middle, full)
    if not interval:
        return None

    def collect_forever():
        while True:
            sleep(interval)
            started = time.perf_counter()
            found = gc.collect()
            log.info("Full garbage collection: %d unreachable objects, %.0f ms", found,
                     (time.perf_counter() - started) * 1000)

    return start_background_task(collect_forever)


def nodelay_listener(host, port):
    """An eventlet listening socket whose connections send small writes at once (TCP_NODELAY).

    With Nagle's algorithm a socket holds a small write back while an earlier one is unacknowledged, and the
    client acknowledges late (delayed ACK). A chat message reaches its recipient as two frames written one
    after the other (``notification:new``, then ``message:new``): without this option the second one can wait
    for that acknowledgement on top of the delivery. Accepted sockets inherit the option from the listener on
    Linux; the listener sets it on each one anyway.
    """
    import eventlet
    import eventlet.green.socket

    family, _, _, _, address = eventlet.green.socket.getaddrinfo(host, port)[0]
    sock = eventlet.listen(address, family)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return _NoDelayListener(sock)


class _NoDelayListener:
    """The listening socket, setting TCP_NODELAY on every connection it accepts (where not inherited)."""

    def __init__(self, sock):
        self._sock = sock

    def accept(self):
        connection, address = self._sock.accept()
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address

    def __getattr__(self, name):
        return getattr(self._sock, name)


def serve_eventlet(wsgi_app, host, port):
    """Serve ``wsgi_app`` with eventlet's WSGI server on a TCP_NODELAY listener (what ``socketio.run`` does
    for eventlet, with that one option)."""
    import eventlet.wsgi

    eventlet.wsgi.server(nodelay_listener(host, port), wsgi_app, log_output=False)
