"""Fault fixtures: a Redis client that cannot connect, a redis-server of the test's own, child app processes."""
import os
import select
import shutil
import signal
import subprocess
import sys
import time

import pytest
import redis

from tests.conftest import REQUIRE_POSTGRES, free_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def dead_redis(app, monkeypatch):
    """The app's Redis client pointed at a port nobody listens on: every command raises ConnectionError."""
    client = redis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")  # built like the app's: no retry backoff
    monkeypatch.setitem(app.extensions, "redis", client)
    return client


class RedisServer:
    """A redis-server on a spare port, started and killed by the test (no persistence)."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"redis-server did not start on port {self.port}") from None
                time.sleep(0.05)

    def kill(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def redis_server():
    if shutil.which("redis-server") is None:
        if REQUIRE_POSTGRES:  # CI (.ci/run) runs Redis itself, so the binary is there: missing it is a failure
            pytest.fail("redis-server is not installed while TUTORHUB_REQUIRE_POSTGRES=1 (CI)")
        pytest.skip("redis-server is not installed (the Debian package redis-server provides it)")
    server = RedisServer()
    server.start()
    yield server
    server.kill()


class Child:
    """``python -m tests.faults.child <mode>``: waits for its first line (``PORT n`` or ``READY``)."""

    def __init__(self, mode, env):
        self.mode = mode
        self.process = subprocess.Popen([sys.executable, "-m", "tests.faults.child", mode], cwd=ROOT,
                                        env={**os.environ, **env}, stdout=subprocess.PIPE, text=True)
        self.first_line = None

    def ready(self, timeout=120):
        """Wait for the first line (the app is built and serving or working); returns self."""
        if self.first_line is None:
            readable, _, _ = select.select([self.process.stdout], [], [], timeout)
            if not readable:
                self.kill()
                raise RuntimeError(f"tests.faults.child {self.mode} said nothing within {timeout} s")
            line = self.process.stdout.readline().strip()
            if not line:
                raise RuntimeError(f"tests.faults.child {self.mode} exited with {self.process.wait(10)}")
            self.first_line = line
        return self

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.first_line.split()[1]}"

    def kill(self, sig=signal.SIGKILL):
        if self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(10)


@pytest.fixture
def start_child(app):
    """Start child processes on the tests' database (committed rows are shared); all killed at teardown."""
    children = []

    def start(mode, wait=True, **env):
        env = {"DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], **{k: str(v) for k, v in env.items()}}
        child = Child(mode, env)
        children.append(child)
        return child.ready() if wait else child

    yield start
    for child in children:
        child.kill()
