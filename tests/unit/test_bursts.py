"""Bursts wait instead of failing: 1,000 concurrent session creations and 300 concurrent
messages against a gateway process (with its default Redis pool of 16 connections) get no 5xx.
The load generator is on loopback and exempt from the per-address limits, as a city's own load
test would be (LOTSEN_LIMIT_EXEMPT); without the exemption the same burst gets 429s, never 5xx."""

from __future__ import annotations

import asyncio
from collections import Counter

import aiohttp
import pytest

from scripts.stack import free_port, start_python, stop, wait_http


def gateway(prefix: str, **env: str):
    port = free_port()
    process = start_python(["bot", "serve"], {
        "LOTSEN_PORT": str(port), "LOTSEN_KEY_PREFIX": prefix, "LOTSEN_LOG_LEVEL": "ERROR",
        "LOTSEN_RASA_URL": "http://127.0.0.1:9", **env})
    wait_http(f"http://127.0.0.1:{port}/healthz", 30, process, "gateway")
    return process, f"http://127.0.0.1:{port}"


async def burst(base: str, sessions: int, messages: int) -> tuple[Counter, Counter]:
    connector = aiohttp.TCPConnector(limit=0)  # every request on its own connection at once
    async with aiohttp.ClientSession(connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=120)) as http:
        async def create() -> tuple[int, str | None]:
            async with http.post(f"{base}/webchat/sessions", json={}) as resp:
                body = await resp.json()
                return resp.status, body.get("session")

        created = await asyncio.gather(*(create() for _ in range(sessions)))
        ids = [session for status, session in created if status == 201][:messages]

        async def send(session: str) -> int:
            async with http.post(f"{base}/webchat/sessions/{session}/messages",
                                 json={"text": "hej"}) as resp:
                await resp.read()
                return resp.status

        sent = await asyncio.gather(*(send(s) for s in ids))
    return Counter(status for status, _ in created), Counter(sent)


@pytest.mark.parametrize("exempt", [True, False])
async def test_bursts_get_no_5xx(prefix, redis, exempt: bool) -> None:
    env = {"LOTSEN_LIMIT_EXEMPT": "127.0.0.1,::1"} if exempt else {}
    process, base = gateway(prefix, **env)
    try:
        created, sent = await burst(base, 1000, 300)
    finally:
        stop(process)
    assert not [s for s in (*created, *sent) if s >= 500], (created, sent)
    if exempt:
        assert created == Counter({201: 1000}) and sent == Counter({200: 300})
    else:  # the per-address limits answer, politely and clearly
        assert set(created) <= {201, 429} and created[429] > 0
        assert set(sent) <= {200, 429}
