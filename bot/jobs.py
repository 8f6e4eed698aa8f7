"""Scheduled jobs in Redis, run by the worker (reminders, delayed sends).

A job waits in a sorted set scored by its due time. A worker takes due jobs with one Lua script
that moves them to a `running` set scored by a lease deadline, so two workers never take the
same job; a job whose worker died before finishing goes back to `due` when its lease runs out.
Nothing lives in process memory: jobs survive restarts of any process.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

log = logging.getLogger("lotsen.jobs")

JobHandler = Callable[[dict[str, Any]], Awaitable[None]]

# KEYS: due, running. ARGV: now, lease_until, limit. Moves up to `limit` due jobs to running.
TAKE_DUE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZADD', KEYS[2], ARGV[2], id)
end
return ids
"""
# KEYS: running, due. ARGV: now. Expired leases go back to due, to run again at once.
REQUEUE_EXPIRED = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('ZADD', KEYS[2], ARGV[1], id)
end
return #ids
"""


@dataclass(frozen=True)
class JobKeys:
    prefix: str

    @property
    def due(self) -> str:
        return f"{self.prefix}:jobs:due"

    @property
    def running(self) -> str:
        return f"{self.prefix}:jobs:running"

    @property
    def data(self) -> str:
        return f"{self.prefix}:jobs:data"

    @property
    def dead(self) -> str:
        return f"{self.prefix}:jobs:dead"


class JobQueue:
    def __init__(self, redis: Redis, prefix: str, lease_seconds: float = 60.0,
                 max_attempts: int = 5) -> None:
        self.redis = redis
        self.keys = JobKeys(prefix)
        self.lease = lease_seconds
        self.max_attempts = max_attempts
        self._take = redis.register_script(TAKE_DUE)
        self._requeue = redis.register_script(REQUEUE_EXPIRED)

    async def schedule(self, name: str, args: dict[str, Any], due: float,
                       job_id: str | None = None) -> str:
        """Schedule `name(args)` at unix time `due`; a given `job_id` makes it idempotent."""
        job_id = job_id or secrets.token_hex(8)
        body = json.dumps({"name": name, "args": args, "attempts": 0}, ensure_ascii=False)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.data, job_id, body)
            pipe.zadd(self.keys.due, {job_id: due})
            await pipe.execute()
        return job_id

    async def cancel(self, job_id: str) -> bool:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self.keys.due, job_id)
            pipe.hdel(self.keys.data, job_id)
            removed, _ = await pipe.execute()
        return bool(removed)

    async def run_due(self, handlers: dict[str, JobHandler], limit: int = 50) -> int:
        """Run every job that is due now; returns how many ran successfully."""
        now = time.time()
        await self._requeue(keys=[self.keys.running, self.keys.due], args=[now])
        ids = await self._take(keys=[self.keys.due, self.keys.running],
                               args=[now, now + self.lease, limit])
        done = 0
        for job_id in ids:
            done += await self._run_one(job_id, handlers)
        return done

    async def _run_one(self, job_id: str, handlers: dict[str, JobHandler]) -> int:
        raw = await self.redis.hget(self.keys.data, job_id)
        if raw is None:  # cancelled while due
            await self.redis.zrem(self.keys.running, job_id)
            return 0
        job = json.loads(raw)
        handler = handlers.get(job["name"])
        try:
            if handler is None:
                raise LookupError(f"no handler for job {job['name']!r}")
            await handler(job["args"])
        except Exception as exc:
            await self._failed(job_id, job, exc)
            return 0
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self.keys.running, job_id)
            pipe.hdel(self.keys.data, job_id)
            await pipe.execute()
        return 1

    async def _failed(self, job_id: str, job: dict[str, Any], exc: Exception) -> None:
        job["attempts"] += 1
        log.warning("job_failed", extra={"detail": f"{job['name']}: {type(exc).__name__}",
                                         "count": job["attempts"]})
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self.keys.running, job_id)
            if job["attempts"] >= self.max_attempts:
                pipe.hdel(self.keys.data, job_id)
                pipe.rpush(self.keys.dead, json.dumps({"id": job_id, **job}))
            else:
                pipe.hset(self.keys.data, job_id, json.dumps(job))
                pipe.zadd(self.keys.due, {job_id: time.time() + 2 ** job["attempts"]})
            await pipe.execute()

    async def pending(self) -> int:
        return int(await self.redis.zcard(self.keys.due)) + int(
            await self.redis.zcard(self.keys.running))
