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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from bot.core.clock import Clock, system_clock
from bot.core.keys import JOBS_DATA, JOBS_DEAD, JOBS_DUE, JOBS_RUNNING, JOBS_WAKE, KeyPattern, Keys

log = logging.getLogger("lotsen.jobs")

JobHandler = Callable[[dict[str, Any]], Awaitable[None]]


class GiveUp(Exception):
    """The job can never succeed (e.g. the provider refused the number): dead-letter it now."""


class RetryLater(Exception):
    """Run this job again in `delay` seconds. `failed` counts it towards the dead-letter limit
    (a provider error); a rate limit or the provider's own `retry_after` does not."""

    def __init__(self, delay: float, *, failed: bool = False, reason: str = "") -> None:
        super().__init__(reason or f"retry in {delay:.1f} s")
        self.delay = delay
        self.failed = failed

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

    def _key(self, pattern: KeyPattern) -> str:
        return Keys(self.prefix)(pattern)

    @property
    def due(self) -> str:
        return self._key(JOBS_DUE)

    @property
    def running(self) -> str:
        return self._key(JOBS_RUNNING)

    @property
    def data(self) -> str:
        return self._key(JOBS_DATA)

    @property
    def dead(self) -> str:
        return self._key(JOBS_DEAD)

    @property
    def wake(self) -> str:
        return self._key(JOBS_WAKE)


class JobQueue:
    def __init__(self, redis: Redis, prefix: str, lease_seconds: float = 60.0,
                 max_attempts: int = 5, clock: Clock = system_clock) -> None:
        self.redis = redis
        self.clock = clock
        self.keys = JobKeys(prefix)
        self.lease = lease_seconds
        self.max_attempts = max_attempts
        self._take = redis.register_script(TAKE_DUE)
        self._requeue = redis.register_script(REQUEUE_EXPIRED)

    def _now(self) -> float:
        return self.clock().timestamp()

    async def schedule(self, name: str, args: dict[str, Any], due: float,
                       job_id: str | None = None) -> str:
        """Schedule `name(args)` at unix time `due`; a given `job_id` makes it idempotent."""
        job_id = job_id or secrets.token_hex(8)
        body = json.dumps({"name": name, "args": args, "attempts": 0}, ensure_ascii=False)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.data, job_id, body)
            pipe.zadd(self.keys.due, {job_id: due})
            if due <= self._now():
                pipe.lpush(self.keys.wake, "1")  # wake a waiting worker now
                pipe.ltrim(self.keys.wake, 0, 9)
            await pipe.execute()
        return job_id

    async def wait_for_work(self, timeout: float) -> None:
        """Sleep until a job due now is scheduled, or `timeout` seconds."""
        await self.redis.blpop([self.keys.wake], timeout=max(1, round(timeout)))

    async def cancel(self, job_id: str) -> bool:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self.keys.due, job_id)
            pipe.hdel(self.keys.data, job_id)
            removed, _ = await pipe.execute()
        return bool(removed)

    async def run_due(self, handlers: dict[str, JobHandler], limit: int = 50) -> int:
        """Run every job that is due now; returns how many ran successfully."""
        now = self._now()
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
        except GiveUp as exc:
            job["attempts"] = self.max_attempts - 1
            await self._failed(job_id, job, exc)
            return 0
        except RetryLater as later:
            if later.failed:
                await self._failed(job_id, job, later, delay=later.delay)
            else:
                await self._reschedule(job_id, job, later.delay)
            return 0
        except Exception as exc:
            await self._failed(job_id, job, exc)
            return 0
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self.keys.running, job_id)
            pipe.hdel(self.keys.data, job_id)
            await pipe.execute()
        return 1

    async def _reschedule(self, job_id: str, job: dict[str, Any], delay: float) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self.keys.running, job_id)
            pipe.zadd(self.keys.due, {job_id: self._now() + delay})
            await pipe.execute()

    async def _failed(self, job_id: str, job: dict[str, Any], exc: Exception,
                      delay: float | None = None) -> None:
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
                wait = delay if delay is not None else 2 ** job["attempts"]
                pipe.zadd(self.keys.due, {job_id: self._now() + wait})
            await pipe.execute()

    async def pending(self) -> int:
        return int(await self.redis.zcard(self.keys.due)) + int(
            await self.redis.zcard(self.keys.running))
