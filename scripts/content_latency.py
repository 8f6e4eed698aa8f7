"""How long a published text takes to be said by another gateway: two gateway processes, one
operator writes a Somali edit, another approves it on the second gateway, and the first is
asked until it says the new text.

    .venv/bin/python scripts/content_latency.py

Prints each of 8 publishes in seconds (pub/sub carries it; LOTSEN_CONTENT_POLL_SECONDS bounds
it when an announcement is missed). Uses the test fixtures' configuration and a key prefix of
its own, removed at the end.
"""

from __future__ import annotations

import asyncio
import secrets
import sys
import time
from pathlib import Path

import aiohttp
from redis.asyncio import Redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.stack import free_port, start_python, stop, wait_http
from tests.integration.test_booking_processes import process_env
from tests.staff import Operator, operators_on

PASSWORD = "a long enough password 24"
TEXT_ID, PAYLOAD = "answers/info_sfi/where/text", "/info_sfi/where"
REDIS_URL = "redis://127.0.0.1:6379/0"


async def said(http: aiohttp.ClientSession, base: str) -> str:
    async with http.post(f"{base}/webchat/sessions", json={"language": "so"}) as resp:
        session = (await resp.json())["session"]
    async with http.post(f"{base}/webchat/sessions/{session}/messages",
                         json={"payload": PAYLOAD}) as resp:
        return str((await resp.json())["replies"][0]["text"])


async def measure(prefix: str, bases: list[str], rounds: int = 8) -> list[float]:
    redis = Redis.from_url(REDIS_URL, decode_responses=True)
    async with operators_on(redis, prefix, bases) as (anna, bo):
        seconds = await publish_and_listen(anna, bo, bases, rounds)
    async for key in redis.scan_iter(match=f"{prefix}:*"):
        await redis.delete(key)
    await redis.aclose()
    return seconds


async def publish_and_listen(anna: Operator, bo: Operator, bases: list[str],
                             rounds: int) -> list[float]:
    seconds = []
    async with aiohttp.ClientSession() as chat:
        for round_ in range(rounds):
            text = f"Järva waxaad sfi ku baran kartaa (nooca {round_})."
            status, body = await anna.post("/coach/api/content/drafts",
                                           {"id": TEXT_ID, "language": "so", "text": text})
            assert status == 201, body
            started = time.monotonic()
            status, body = await bo.post(f"/coach/api/content/drafts/{body['draft']}/approve", {})
            assert status == 200, body
            while text not in await said(chat, bases[0]):  # the gateway that did not approve
                await asyncio.sleep(0.005)
            seconds.append(time.monotonic() - started)
    return seconds


def main() -> None:
    prefix = f"lotsen-latency-{secrets.token_hex(3)}"
    ports = [free_port(), free_port()]
    processes = [start_python(["bot", "serve"], {**process_env(prefix), "LOTSEN_PORT": str(p)})
                 for p in ports]
    try:
        for port, process in zip(ports, processes, strict=True):
            wait_http(f"http://127.0.0.1:{port}/healthz", 30, process, "gateway")
        seconds = asyncio.run(measure(prefix, [f"http://127.0.0.1:{p}" for p in ports]))
    finally:
        for process in processes:
            stop(process)
    print("content: approved on one gateway -> said by the other, seconds: "
          + " ".join(f"{s:.3f}" for s in seconds) + f" (max {max(seconds):.3f})")


if __name__ == "__main__":
    main()
