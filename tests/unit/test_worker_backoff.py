"""The worker during a Redis outage: it says so once, pauses between attempts instead of
spinning (one warning per attempt used to mean thousands of log lines a second), says once
when Redis is back, and carries on. Real sockets and a real private redis-server, no mocks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Iterator

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.core.keys import WORKER_HEARTBEAT, Keys
from bot.runtime import worker
from scripts.stack import free_port
from tests.conftest import make_settings
from tests.waiting import until

OUTAGE = "worker_redis_unavailable"
BACK = "worker_redis_back"


def events(caplog: pytest.LogCaptureFixture, name: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "lotsen.worker" and r.getMessage() == name]


async def run_worker_for(settings, seconds: float) -> float:
    """Run the worker for `seconds`; returns how long it took to stop once asked."""
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(settings, stop))
    await asyncio.wait({task}, timeout=seconds)
    assert not task.done(), task.exception()
    asked = time.monotonic()
    stop.set()
    await asyncio.wait_for(task, timeout=15)
    return time.monotonic() - asked


class HangUpListener:
    """A port that accepts connections and closes them at once (Redis behind a proxy whose
    backend is down), counting them: each one is one attempt by the worker."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.times: list[float] = []  # when each connection came (time.monotonic())
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError):  # closed by close()
            while True:
                conn, _ = self.sock.accept()
                self.times.append(time.monotonic())
                self.connections += 1
                conn.close()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def hang_up_listener() -> Iterator[HangUpListener]:
    listener = HangUpListener()
    yield listener
    listener.close()


async def test_nothing_listening_logs_the_outage_once_and_stops_promptly(
        prefix: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="lotsen.worker")
    settings = make_settings(prefix, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    took = await run_worker_for(settings, 3)
    warnings = events(caplog, OUTAGE)
    assert len(warnings) == 1, [r.getMessage() for r in caplog.records]
    assert warnings[0].levelno == logging.WARNING
    assert warnings[0].detail == "ConnectionError"  # type: ignore[attr-defined]
    assert not events(caplog, BACK)
    assert took < 5, f"the pause between attempts delayed stopping by {took:.1f} s"


async def test_attempts_back_off_instead_of_spinning(
        prefix: str, caplog: pytest.LogCaptureFixture,
        hang_up_listener: HangUpListener) -> None:
    caplog.set_level(logging.INFO, logger="lotsen.worker")
    settings = make_settings(prefix, redis_url=f"redis://127.0.0.1:{hang_up_listener.port}/0")
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(settings, stop))
    try:
        await until(lambda: hang_up_listener.connections >= 3 or task.done(), timeout=30,
                    what="three attempts")
        assert not task.done(), task.exception()
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=15)
    # 0.5 s doubling: attempts at about 0, 0.5, 1.5 s (spinning made thousands a second).
    first, _, third = hang_up_listener.times[:3]
    assert third - first >= 1.0, hang_up_listener.times
    assert hang_up_listener.connections < 15, hang_up_listener.connections
    assert len(events(caplog, OUTAGE)) == 1


async def has_key(url: str, key: str | None) -> bool:
    """A fresh connection each time (a pooled one would not survive a restart of the server);
    with `key` None: does the server answer at all?"""
    client = Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
    try:
        return bool(await client.ping() if key is None else await client.exists(key))
    except (OSError, RedisError):
        return False
    finally:
        await client.aclose()


class RedisServer:
    """A private, throwaway redis-server on its own port (no snapshot, no append-only file)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        # On the real clock: redis-server cannot start under libfaketime (`make test-calendar`).
        env = {k: v for k, v in os.environ.items()
               if k != "LD_PRELOAD" and not k.startswith("FAKETIME")}
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], env=env, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        try:
            await until(self.answers, timeout=20, what=f"redis-server on port {self.port}")
        except BaseException:
            self.stop()  # a server that never answered must not outlive the test
            raise

    async def answers(self) -> bool:
        return await has_key(self.url, None)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
async def redis_server() -> AsyncIterator[RedisServer]:
    server = RedisServer(free_port())
    try:
        await server.start()
        yield server
    finally:
        server.stop()


async def test_outage_and_recovery_are_each_logged_once(
        prefix: str, caplog: pytest.LogCaptureFixture, redis_server: RedisServer) -> None:
    caplog.set_level(logging.INFO, logger="lotsen.worker")
    heartbeat = Keys(prefix)(WORKER_HEARTBEAT)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(make_settings(prefix, redis_url=redis_server.url),
                                          stop))
    try:
        await until(lambda: has_key(redis_server.url, heartbeat), timeout=30,
                    what="the worker's first heartbeat")
        redis_server.stop()
        await until(lambda: events(caplog, OUTAGE), timeout=15, what="the outage warning")
        # Keep Redis down for a while (real time: the worker's pauses are), so the worker
        # makes several attempts meanwhile: at about 0.5 and 1.5 s after the first.
        outage_ends = time.monotonic() + 2
        await until(lambda: time.monotonic() >= outage_ends, timeout=5,
                    what="the end of the outage")
        await redis_server.start()  # empty: no snapshot was kept
        await until(lambda: events(caplog, BACK), timeout=30,
                    what="the worker to notice Redis is back")
        await until(lambda: has_key(redis_server.url, heartbeat), timeout=15,
                    what="a heartbeat after the outage")
        assert not task.done()
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=15)
    assert len(events(caplog, OUTAGE)) == 1, [r.getMessage() for r in caplog.records]
    assert len(events(caplog, BACK)) == 1
    assert events(caplog, BACK)[0].levelno == logging.INFO
    assert not events(caplog, "worker_error")
