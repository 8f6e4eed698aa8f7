"""/readyz and /metrics warn when Redis's memory nears its maxmemory (with noeviction, a full
Redis refuses writes: bookings, leads and logins would fail)."""

from __future__ import annotations

import os
import subprocess

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.runtime.gateway import create_app
from scripts.stack import free_port
from tests.conftest import make_settings
from tests.waiting import until


@pytest.fixture
async def small_redis():
    port = free_port()
    process = subprocess.Popen(["redis-server", "--port", str(port), "--save", "",
                                "--appendonly", "no", "--maxmemory", "2mb",
                                "--maxmemory-policy", "noeviction"], stdout=subprocess.DEVNULL,
                               env={k: v for k, v in os.environ.items()  # not under faketime
                                    if k != "LD_PRELOAD" and not k.startswith("FAKETIME")})
    url = f"redis://127.0.0.1:{port}/0"
    try:
        await until(lambda: answers(url), timeout=20, what="the small redis-server")
        yield url
    finally:
        process.terminate()
        process.wait(10)


async def answers(url: str) -> bool:
    client = Redis.from_url(url, socket_connect_timeout=1)
    try:
        return bool(await client.ping())
    except (OSError, RedisError):
        return False
    finally:
        await client.aclose()


async def test_readyz_and_metrics_warn_near_maxmemory(aiohttp_client, small_redis, prefix):
    client = await aiohttp_client(create_app(make_settings(prefix, redis_url=small_redis)))
    quiet = await (await client.get("/readyz")).json()
    assert quiet["warnings"] == []
    filler = "x" * 1000
    redis = Redis.from_url(small_redis)
    for i in range(3000):
        try:
            await redis.set(f"fill:{i}", filler)
        except Exception:
            break  # full: noeviction refuses the write
    await redis.aclose()
    loud = await (await client.get("/readyz")).json()
    assert loud["warnings"] and "maxmemory" in loud["warnings"][0]
    metrics = await (await client.get("/metrics")).text()
    line = next(x for x in metrics.splitlines() if x.startswith("lotsen_redis_memory_ratio"))
    assert float(line.split()[-1]) >= 0.8
