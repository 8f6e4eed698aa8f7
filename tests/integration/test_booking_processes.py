"""Booking across real processes: two gateway processes racing for the last seats, and a
reminder that survives a worker restart and is sent once, and only once."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import aiohttp
import pytest

from bot.core.booking.service import reminder_job_id
from bot.core.keys import BOOKING_SLOT, JOBS_DUE, WORKER_HEARTBEAT, Keys
from scripts.stack import free_port, start_python, stop, wait_http
from tests.clock import real_clock_day
from tests.job_queue import queue_idle
from tests.waiting import until

FIXTURE_CONFIG = Path(__file__).resolve().parent.parent / "fixtures" / "config"


def process_env(prefix: str, port: int | None = None) -> dict[str, str]:
    env = {"LOTSEN_KEY_PREFIX": prefix, "LOTSEN_CONFIG_DIR": str(FIXTURE_CONFIG),
           "LOTSEN_LIMIT_EXEMPT": "127.0.0.1,::1",  # 50 people, one test machine
           "LOTSEN_RASA_URL": "http://127.0.0.1:9", "LOTSEN_LOG_LEVEL": "WARNING",
           "LOTSEN_DEFAULT_LANGUAGE": "sv"}
    if port:
        env["LOTSEN_PORT"] = str(port)
    return env


async def until_worker_runs(redis, prefix: str, worker, timeout: float = 30) -> None:
    """Wait for the worker's first heartbeat: it has started and handles signals."""
    async def beats() -> bool:
        assert worker.poll() is None, "the worker exited while starting"
        return bool(await redis.exists(Keys(prefix)(WORKER_HEARTBEAT)))

    await until(beats, timeout=timeout, interval=0.1, what="the worker's first heartbeat")


@pytest.fixture
def two_gateways(prefix: str):
    ports = [free_port(), free_port()]
    processes = [start_python(["bot", "serve"], process_env(prefix, port)) for port in ports]
    try:
        for port, process in zip(ports, processes, strict=True):
            wait_http(f"http://127.0.0.1:{port}/healthz", 30, process, "gateway")
        yield [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        for process in processes:
            stop(process)


async def test_50_concurrent_attempts_from_two_gateways_get_exactly_3_seats(two_gateways, redis,
                                                                            prefix) -> None:
    day = real_clock_day(1).isoformat()
    slot = f"unga-jarva:{day}T10:00"  # capacity 3 in the test schedule
    async with aiohttp.ClientSession() as http:
        sessions = []
        for i in range(50):
            base = two_gateways[i % 2]
            async with http.post(f"{base}/webchat/sessions", json={}) as resp:
                sessions.append((base, (await resp.json())["session"]))

        async def attempt(base: str, session: str) -> dict:
            async with http.post(f"{base}/webchat/sessions/{session}/messages",
                                 json={"payload": f"/book:ok:{slot}"}) as resp:
                assert resp.status == 200
                return await resp.json()

        results = await asyncio.gather(*(attempt(b, s) for b, s in sessions))
    booked = [r for r in results if "bokningskod" in r["replies"][0]["text"]]
    refused = [r for r in results if r["replies"][0]["text"].startswith("Tyvärr")]
    assert (len(booked), len(refused)) == (3, 47)
    assert all(any(b["payload"].startswith("/book:slot:") for b in r["replies"][0]["buttons"])
               for r in refused)  # every refusal offers other times
    assert await redis.scard(Keys(prefix)(BOOKING_SLOT, slot=slot)) == 3


async def test_reminder_survives_worker_restart_and_is_sent_once(two_gateways, redis,
                                                                 prefix) -> None:
    base = two_gateways[0]
    day = real_clock_day(4).isoformat()
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/webchat/sessions", json={"language": "en"}) as resp:
            session = (await resp.json())["session"]
        async with http.post(f"{base}/webchat/sessions/{session}/messages",
                             json={"payload": f"/book:ok:unga-jarva:{day}T15:00"}) as resp:
            confirmation = (await resp.json())["replies"][0]["text"]
        code = confirmation.split("booking code is ")[1][:6]
        job = reminder_job_id(code)
        due = Keys(prefix)(JOBS_DUE)
        assert await redis.zscore(due, job) is not None

        async def reminders() -> list[str]:
            async with http.get(f"{base}/webchat/sessions/{session}/messages") as resp:
                messages = (await resp.json())["messages"]
            return [m["text"] for m in messages if m["text"].startswith("Reminder")]

        worker = start_python(["bot", "worker"], process_env(prefix))
        await until_worker_runs(redis, prefix, worker)
        # The reminder was scheduled 24 h before: stop the worker before it is due, then make
        # it due now and start two workers.
        os.killpg(worker.pid, signal.SIGTERM)
        assert worker.wait(10) == 0
        assert await reminders() == []
        assert await redis.zadd(due, {job: time.time()}, xx=True, ch=True) == 1

        workers = [start_python(["bot", "worker"], process_env(prefix)) for _ in range(2)]
        try:
            await until(reminders, timeout=30, interval=0.2, what="the reminder")
            # Both workers had their chance at the job once it is neither due nor running:
            # a duplicate, had there been one, has been sent by then.
            await until(lambda: queue_idle(redis, prefix), timeout=30, interval=0.2,
                        what="the reminder job to finish")
            sent = await reminders()
        finally:
            for process in workers:
                stop(process)
    assert len(sent) == 1 and code in sent[0]
    assert await redis.zcard(due) == 0
