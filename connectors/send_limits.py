"""Per-second send limits shared by every worker process (a fixed one-second window in Redis)."""

from __future__ import annotations

import time

from redis.asyncio import Redis

from bot.core.keys import Erasure, Keys, Owner, declare

SEND_RATE = declare("rate:{scope}:{window}", owner=Owner.SYSTEM, expiry="a few seconds",
                    erasure=Erasure.EXPIRES)


class SendLimiter:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def acquire(self, scope: str, per_second: float) -> float:
        """0 if a send in `scope` may happen now (and counts it); else seconds to wait."""
        if per_second <= 0:
            return 0.0
        now = time.time()
        if per_second < 1:  # e.g. 0.5/s: one send per 2-second window
            window = 1 / per_second
            slot = int(now // window)
            key = self.keys(SEND_RATE, scope=scope, window=slot)
            if await self.redis.set(key, 1, nx=True, ex=int(window) + 1):
                return 0.0
            return (slot + 1) * window - now
        second = int(now)
        key = self.keys(SEND_RATE, scope=scope, window=second)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, 2)
            count, _ = await pipe.execute()
        if count <= per_second:
            return 0.0
        return second + 1 - now + 0.01
