"""Process start-up for long-running servers."""
import gc


def freeze_startup_heap():
    """Exempt what start-up allocated (modules, SQLAlchemy mappers, schemas, the app) from garbage collection.

    A full (generation 2) collection walks every tracked object: in a Socket.IO server process that was a
    pause of ~275 ms, during which an eventlet hub runs nothing, so every message in flight waited that
    long and the backlog behind it for longer still (the chat bench's p99). Start-up objects live as long as
    the process; frozen, they are never walked again. Call once, after the app is built and before serving.
    """
    gc.collect()
    gc.freeze()
