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

from bot.coach.accounts import CoachAccounts
from bot.core.clock import system_clock
from bot.core.handover.teams import Teams
from bot.core.keys import Keys
from scripts.stack import free_port, start_python, stop, wait_http
from tests.integration.test_booking_processes import FIXTURE_CONFIG, process_env

PASSWORD = "a long enough password 24"
TEXT_ID, PAYLOAD = "answers/info_sfi/where/text", "/info_sfi/where"
REDIS_URL = "redis://127.0.0.1:6379/0"


async def said(http: aiohttp.ClientSession, base: str) -> str:
    async with http.post(f"{base}/webchat/sessions", json={"language": "so"}) as resp:
        session = (await resp.json())["session"]
    async with http.post(f"{base}/webchat/sessions/{session}/messages",
                         json={"payload": PAYLOAD}) as resp:
        return str((await resp.json())["replies"][0]["text"])


async def login(base: str, username: str) -> tuple[aiohttp.ClientSession, dict[str, str]]:
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.post(f"{base}/coach/api/login",
                         json={"username": username, "password": PASSWORD}) as resp:
        return http, {"X-CSRF-Token": (await resp.json())["csrf_token"]}


async def measure(prefix: str, bases: list[str], rounds: int = 8) -> list[float]:
    redis = Redis.from_url(REDIS_URL, decode_responses=True)
    accounts = CoachAccounts(redis=redis, keys=Keys(prefix), clock=system_clock,
                             teams=Teams.load(FIXTURE_CONFIG / "teams.yml"))
    for name in ("anna", "bo"):
        await accounts.add(name, PASSWORD, [], name=name, role="operator")
    (anna, anna_csrf), (bo, bo_csrf) = await login(bases[0], "anna"), await login(bases[1], "bo")
    seconds = []
    async with aiohttp.ClientSession() as chat:
        for round_ in range(rounds):
            text = f"Järva waxaad sfi ku baran kartaa (nooca {round_})."
            async with anna.post(f"{bases[0]}/coach/api/content/drafts", headers=anna_csrf,
                                 json={"id": TEXT_ID, "language": "so", "text": text}) as resp:
                draft = (await resp.json())["draft"]
            started = time.monotonic()
            async with bo.post(f"{bases[1]}/coach/api/content/drafts/{draft}/approve",
                               headers=bo_csrf, json={}) as resp:
                assert resp.status == 200, await resp.text()
            while text not in await said(chat, bases[0]):  # the gateway that did not approve
                await asyncio.sleep(0.005)
            seconds.append(time.monotonic() - started)
    await anna.close()
    await bo.close()
    async for key in redis.scan_iter(match=f"{prefix}:*"):
        await redis.delete(key)
    await redis.aclose()
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
