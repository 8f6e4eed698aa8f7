"""Scheduled jobs in Redis, run by the worker (reminders, delayed sends, the outbox).

A job waits in a sorted set scored by its due time; its body is a key of its own that expires
`KEEP_AFTER_DUE` after the job was due, so nothing about a person outlives its use even if no
worker ever runs. A worker takes due jobs with one Lua script that moves them to a `running`
set scored by a lease deadline, so two workers never take the same job; a job whose worker died
before finishing goes back to `due` when its lease runs out. A job that failed `max_attempts`
times becomes a dead letter, kept `dead_letter_seconds` (7 days by default) for an operator
(`python -m bot.admin dead-letters`), then gone; `run_due` may be given a handler per job name
that learns of such a death (a campaign counts the message as failed). Jobs for a person are
indexed by their conversation, so erasure finds them (`erase_for`). Nothing lives in process
memory: jobs survive restarts of any process.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.core.clock import Clock, system_clock
from bot.core.keys import (
    JOB,
    JOB_DEAD,
    JOBS_DEAD,
    JOBS_DUE,
    JOBS_RUNNING,
    JOBS_TO,
    JOBS_WAKE,
    Keys,
)

log = logging.getLogger("lotsen.jobs")

JobHandler = Callable[[dict[str, Any]], Awaitable[None]]
KEEP_AFTER_DUE = 2 * 24 * 3600  # a job not run within two days of its due time is dropped
DEAD_LETTER_SECONDS = 7 * 24 * 3600


class GiveUp(Exception):
    """The job can never succeed (e.g. the provider refused the number): dead-letter it now."""


class RetryLater(Exception):
    """Run this job again in `delay` seconds. `failed` counts it towards the dead-letter limit
    (a provider error); a rate limit or the provider's own `retry_after` does not."""

    def __init__(self, delay: float, *, failed: bool = False, reason: str = "") -> None:
        super().__init__(reason or f"retry in {delay:.1f} s")
        self.delay = delay
        self.failed = failed


@dataclass(frozen=True)
class NewJob:
    name: str
    args: dict[str, Any]
    due: float
    conversation: str | None = None  # the person it is for, so erasure can find it
    job_id: str | None = None        # a given id makes scheduling idempotent


@dataclass(frozen=True)
class DeadLetter:
    id: str
    name: str
    attempts: int
    died: float
    error: str
    conversation: str | None


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


class JobKeys:
    def __init__(self, prefix: str) -> None:
        self._keys = Keys(prefix)
        self.due = self._keys(JOBS_DUE)
        self.running = self._keys(JOBS_RUNNING)
        self.dead = self._keys(JOBS_DEAD)
        self.wake = self._keys(JOBS_WAKE)

    def job(self, job_id: str) -> str:
        return self._keys(JOB, id=job_id)

    def dead_letter(self, job_id: str) -> str:
        return self._keys(JOB_DEAD, id=job_id)

    def to(self, conversation: str) -> str:
        return self._keys(JOBS_TO, conversation=conversation)


class JobQueue:
    def __init__(self, redis: Redis, prefix: str, lease_seconds: float = 60.0,
                 max_attempts: int = 5, clock: Clock = system_clock,
                 dead_letter_seconds: int = DEAD_LETTER_SECONDS) -> None:
        self.redis = redis
        self.clock = clock
        self.keys = JobKeys(prefix)
        self.lease = lease_seconds
        self.max_attempts = max_attempts
        self.dead_letter_seconds = dead_letter_seconds
        self._take = redis.register_script(TAKE_DUE)
        self._requeue = redis.register_script(REQUEUE_EXPIRED)

    def _now(self) -> float:
        return self.clock().timestamp()

    def _ttl(self, due: float) -> int:
        return max(1, int(due - self._now())) + KEEP_AFTER_DUE

    async def schedule(self, name: str, args: dict[str, Any], due: float,
                       job_id: str | None = None, conversation: str | None = None) -> str:
        """Schedule `name(args)` at unix time `due`; a given `job_id` makes it idempotent."""
        return (await self.schedule_many([NewJob(name, args, due, conversation, job_id)]))[0]

    async def schedule_many(self, jobs: Sequence[NewJob],
                            also: Callable[[Pipeline], None] | None = None) -> list[str]:
        """Schedule several jobs in one transaction; `also` adds more commands to it (a marker
        that must be written if and only if the jobs are)."""
        ids = []
        async with self.redis.pipeline(transaction=True) as pipe:
            wake = False
            for job in jobs:
                job_id = job.job_id or secrets.token_hex(8)
                ids.append(job_id)
                body = json.dumps({"name": job.name, "args": job.args, "attempts": 0,
                                   "conversation": job.conversation}, ensure_ascii=False)
                ttl = self._ttl(job.due)
                pipe.set(self.keys.job(job_id), body, ex=ttl)
                pipe.zadd(self.keys.due, {job_id: job.due})
                if job.conversation:
                    pipe.sadd(self.keys.to(job.conversation), job_id)
                    pipe.expire(self.keys.to(job.conversation), ttl + self.dead_letter_seconds,
                                gt=True)
                    pipe.expire(self.keys.to(job.conversation), ttl + self.dead_letter_seconds,
                                nx=True)
                wake = wake or job.due <= self._now()
            if wake:
                pipe.lpush(self.keys.wake, "1")  # wake a waiting worker now
                pipe.ltrim(self.keys.wake, 0, 9)
            if also is not None:
                also(pipe)
            await pipe.execute()
        return ids

    async def wait_for_work(self, timeout: float) -> None:
        """Sleep until a job due now is scheduled, or `timeout` seconds (at least 10 ms)."""
        await self.redis.blpop([self.keys.wake], timeout=max(0.01, round(timeout, 3)))

    async def next_due(self) -> float | None:
        """When the earliest waiting job is due (unix time), or None when none waits."""
        first = await self.redis.zrange(self.keys.due, 0, 0, withscores=True)
        return float(first[0][1]) if first else None

    async def cancel(self, job_id: str) -> bool:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self.keys.due, job_id)
            pipe.delete(self.keys.job(job_id))
            removed, _ = await pipe.execute()
        return bool(removed)

    async def run_due(self, handlers: Mapping[str, JobHandler], limit: int = 50,
                      dead: Mapping[str, JobHandler] | None = None) -> int:
        """Run every job that is due now; returns how many ran successfully. `dead`: handlers
        called with a job's args when it becomes a dead letter, by job name."""
        done = 0
        for job_id in await self.take(limit):
            done += await self.run_one(job_id, handlers, dead or {})
        return done

    async def take(self, limit: int) -> list[str]:
        """Lease up to `limit` due jobs to this worker (expired leases go back to due first)."""
        now = self._now()
        await self._requeue(keys=[self.keys.running, self.keys.due], args=[now])
        return list(await self._take(keys=[self.keys.due, self.keys.running],
                                     args=[now, now + self.lease, limit]))

    async def extend(self, job_ids: Sequence[str]) -> None:
        """Renew the leases of jobs still running here (a long job is not taken twice)."""
        if job_ids:
            until = self._now() + self.lease
            await self.redis.zadd(self.keys.running, dict.fromkeys(job_ids, until), xx=True)

    async def load(self, job_ids: Sequence[str]) -> list[dict[str, Any] | None]:
        """The bodies of leased jobs, in order (None: cancelled, erased or expired)."""
        if not job_ids:
            return []
        raws = await self.redis.mget([self.keys.job(job_id) for job_id in job_ids])
        return [json.loads(raw) if raw is not None else None for raw in raws]

    async def run_one(self, job_id: str, handlers: Mapping[str, JobHandler],
                      dead: Mapping[str, JobHandler] | None = None,
                      job: dict[str, Any] | None = None) -> int:
        """Run one leased job (its body loaded now unless given); 1 if it succeeded.
        Cancelled (the worker stops), the job goes back to due at once instead of waiting for
        its lease to run out."""
        if job is None:
            raw = await self.redis.get(self.keys.job(job_id))
            job = json.loads(raw) if raw is not None else None
        if job is None:  # cancelled, erased, or expired while due
            await self.redis.zrem(self.keys.running, job_id)
            return 0
        handler = handlers.get(job["name"])
        try:
            if handler is None:
                raise LookupError(f"no handler for job {job['name']!r}")
            await handler(job["args"])
        except asyncio.CancelledError:
            await asyncio.shield(self._reschedule(job_id, 0))
            raise
        except GiveUp as exc:
            job["attempts"] = self.max_attempts - 1
            await self._failed(job_id, job, exc, dead=dead)
            return 0
        except RetryLater as later:
            if later.failed:
                await self._failed(job_id, job, later, delay=later.delay, dead=dead)
            else:
                await self._reschedule(job_id, later.delay)
            return 0
        except Exception as exc:
            await self._failed(job_id, job, exc, dead=dead)
            return 0
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self.keys.running, job_id)
            pipe.delete(self.keys.job(job_id))
            await pipe.execute()
        return 1

    async def _reschedule(self, job_id: str, delay: float) -> None:
        due = self._now() + delay
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self.keys.running, job_id)
            pipe.zadd(self.keys.due, {job_id: due})
            pipe.expire(self.keys.job(job_id), self._ttl(due))
            await pipe.execute()

    async def _failed(self, job_id: str, job: dict[str, Any], exc: Exception,
                      delay: float | None = None,
                      dead: Mapping[str, JobHandler] | None = None) -> None:
        job["attempts"] += 1
        log.warning("job_failed", extra={"detail": f"{job['name']}: {type(exc).__name__}",
                                         "count": job["attempts"]})
        now = self._now()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self.keys.running, job_id)
            if job["attempts"] >= self.max_attempts:
                job["died"], job["error"] = now, type(exc).__name__
                pipe.delete(self.keys.job(job_id))
                pipe.set(self.keys.dead_letter(job_id), json.dumps(job, ensure_ascii=False),
                         ex=self.dead_letter_seconds)
                pipe.zadd(self.keys.dead, {job_id: now})
                pipe.zremrangebyscore(self.keys.dead, "-inf", now - self.dead_letter_seconds)
            else:
                due = now + (delay if delay is not None else 2 ** job["attempts"])
                pipe.set(self.keys.job(job_id), json.dumps(job, ensure_ascii=False),
                         ex=self._ttl(due))
                pipe.zadd(self.keys.due, {job_id: due})
            await pipe.execute()
        on_dead = (dead or {}).get(job["name"]) if job["attempts"] >= self.max_attempts else None
        if on_dead is not None:
            try:
                await on_dead(job["args"])
            except Exception:
                log.exception("dead_letter_handler_failed")

    async def pending(self) -> int:
        return int(await self.redis.zcard(self.keys.due)) + int(
            await self.redis.zcard(self.keys.running))

    # ------------------------------------------------------------------ dead letters
    async def dead_letters(self) -> list[DeadLetter]:
        """The dead letters still kept, oldest first (without their content)."""
        await self.redis.zremrangebyscore(self.keys.dead, "-inf",
                                          self._now() - self.dead_letter_seconds)
        letters = []
        for job_id in await self.redis.zrange(self.keys.dead, 0, -1):
            raw = await self.redis.get(self.keys.dead_letter(job_id))
            if raw is None:
                await self.redis.zrem(self.keys.dead, job_id)
                continue
            job = json.loads(raw)
            letters.append(DeadLetter(job_id, job["name"], job["attempts"], job.get("died", 0),
                                      job.get("error", ""), job.get("conversation")))
        return letters

    async def retry_dead(self, job_id: str) -> bool:
        """Put a dead letter back in the queue, due now, with its attempts reset."""
        raw = await self.redis.get(self.keys.dead_letter(job_id))
        if raw is None:
            return False
        job = json.loads(raw)
        job["attempts"] = 0
        now = self._now()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.keys.job(job_id), json.dumps(job, ensure_ascii=False),
                     ex=self._ttl(now))
            pipe.zadd(self.keys.due, {job_id: now})
            pipe.delete(self.keys.dead_letter(job_id))
            pipe.zrem(self.keys.dead, job_id)
            pipe.lpush(self.keys.wake, "1")
            pipe.ltrim(self.keys.wake, 0, 9)
            await pipe.execute()
        return True

    async def drop_dead(self, job_id: str) -> bool:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.keys.dead_letter(job_id))
            pipe.zrem(self.keys.dead, job_id)
            deleted, _ = await pipe.execute()
        return bool(deleted)

    # ------------------------------------------------------------------ erasure
    async def erase_for(self, conversation: str) -> int:
        """Delete every job and dead letter for this person; returns how many."""
        index = self.keys.to(conversation)
        ids = await self.redis.smembers(index)
        async with self.redis.pipeline(transaction=True) as pipe:
            for job_id in ids:
                pipe.zrem(self.keys.due, job_id)
                pipe.zrem(self.keys.running, job_id)
                pipe.zrem(self.keys.dead, job_id)
                pipe.delete(self.keys.job(job_id), self.keys.dead_letter(job_id))
            pipe.delete(index)
            await pipe.execute()
        return len(ids)
