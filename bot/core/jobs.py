"""Scheduled jobs in Redis, run by the worker (reminders, delayed sends, the outbox).

A job waits in a sorted set scored by its due time; its body is a key of its own that expires
`KEEP_AFTER_DUE` after the job was due, so nothing about a person outlives its use even if no
worker ever runs. A worker takes due jobs with one Lua script that moves them to a `running`
set scored by a lease deadline, so two workers never take the same job; a job whose worker died
before finishing goes back to `due` when its lease runs out. A handler receives a `Job`
(bot/core/job.py: the body's one reader and writer) and its exception decides what follows
(`outcome_of`): `RetryLater` after its delay, counted or not; `GiveUp` a dead letter at once,
with its reason; any other exception a counted retry with backoff. A job that failed
`max_attempts` times becomes a dead letter, kept `dead_letter_seconds` (7 days by default) for
an operator (`python -m bot.admin dead-letters`), then gone; `run_due` may be given a handler
per job name that learns of such a death (a campaign counts the message as failed). A job
cancelled or erased while it runs is never written back, as a retry or a dead letter. A
multi-step job saves each step that succeeded with the job (`Job.steps`), so a retry skips it.
Jobs for a person are indexed by their conversation, so erasure finds them (`erase_for`).
Nothing lives in process memory: jobs survive restarts of any process.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from bot.core.clock import Clock
from bot.core.job import (
    DEFAULT_MAX_ATTEMPTS,
    Dead,
    GiveUp,
    Job,
    JsonValue,
    MalformedJob,
    NewJob,
    Outcome,
    Payload,
    Retry,
    RetryLater,
    Steps,
    int_field,
    object_field,
    objects_field,
    outcome_of,
    text_field,
)
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
from bot.core.redis_types import StrPipeline, StrRedis

__all__ = [
    "DeadLetter",
    "GiveUp",
    "Job",
    "JobHandler",
    "JobKeys",
    "JobQueue",
    "JsonValue",
    "NewJob",
    "Payload",
    "RetryLater",
    "Steps",
    "int_field",
    "object_field",
    "objects_field",
    "text_field",
]

log = logging.getLogger("lotsen.jobs")

JobHandler = Callable[[Job], Awaitable[None]]
KEEP_AFTER_DUE = 2 * 24 * 3600  # a job not run within two days of its due time is dropped
DEAD_LETTER_SECONDS = 7 * 24 * 3600


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
# KEYS: running, job, dead letter, dead letters. ARGV: id, body, keep seconds, now, cutoff.
# The job becomes a dead letter only if its body is still there (not cancelled or erased
# while it ran); returns 1 if it did.
BURY = """
redis.call('ZREM', KEYS[1], ARGV[1])
if redis.call('DEL', KEYS[2]) == 0 then return 0 end
redis.call('SET', KEYS[3], ARGV[2], 'EX', tonumber(ARGV[3]))
redis.call('ZADD', KEYS[4], ARGV[4], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', ARGV[5])
return 1
"""


class JobKeys:
    def __init__(self, keys: Keys) -> None:
        self._keys = keys
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
    def __init__(self, *, redis: StrRedis, keys: Keys, clock: Clock,
                 lease_seconds: float = 60.0, max_attempts: int = DEFAULT_MAX_ATTEMPTS,
                 dead_letter_seconds: int = DEAD_LETTER_SECONDS) -> None:
        self.redis = redis
        self.clock = clock
        self.keys = JobKeys(keys)
        self.lease = lease_seconds
        self.max_attempts = max_attempts
        self.dead_letter_seconds = dead_letter_seconds
        self._take = redis.register_script(TAKE_DUE)
        self._requeue = redis.register_script(REQUEUE_EXPIRED)
        self._bury = redis.register_script(BURY)

    def _now(self) -> float:
        return self.clock().timestamp()

    def _ttl(self, due: float) -> int:
        return max(1, int(due - self._now())) + KEEP_AFTER_DUE

    async def schedule(self, name: str, args: Mapping[str, object], due: float,
                       job_id: str | None = None, conversation: str | None = None) -> str:
        """Schedule `name(args)` at unix time `due`; a given `job_id` makes it idempotent."""
        return (await self.schedule_many([NewJob(name, args, due, conversation, job_id)]))[0]

    async def schedule_many(self, jobs: Sequence[NewJob],
                            also: Callable[[StrPipeline], None] | None = None) -> list[str]:
        """Schedule several jobs in one transaction; `also` adds more commands to it (a marker
        that must be written if and only if the jobs are)."""
        bodies = [(job, job.job_id or secrets.token_hex(8), job.body(self.max_attempts))
                  for job in jobs]  # every body checked before anything is written
        async with self.redis.pipeline(transaction=True) as pipe:
            wake = False
            for job, job_id, body in bodies:
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
        return [job_id for _, job_id, _ in bodies]

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
        called with a job when it becomes a dead letter, by job name."""
        done = 0
        for job_id in await self.take(limit):
            done += await self.run_one(job_id, handlers, dead)  # each loaded when it runs
        return done

    async def take(self, limit: int) -> list[str]:
        """Lease up to `limit` due jobs to this worker (expired leases go back to due first)."""
        now = self._now()
        await self._requeue(keys=[self.keys.running, self.keys.due], args=[now])
        return [_text(job_id) for job_id in await self._take(
            keys=[self.keys.due, self.keys.running], args=[now, now + self.lease, limit])]

    async def extend(self, job_ids: Sequence[str]) -> None:
        """Renew the leases of jobs still running here (a long job is not taken twice)."""
        if job_ids:
            until = self._now() + self.lease
            await self.redis.zadd(self.keys.running, dict.fromkeys(job_ids, until), xx=True)

    async def load(self, job_ids: Sequence[str]) -> list[Job | None]:
        """Leased jobs, in order (None: cancelled, erased or expired, or not a job: logged
        with the field at fault and left to expire, never run)."""
        if not job_ids:
            return []
        raws = await self.redis.mget([self.keys.job(job_id) for job_id in job_ids])
        return [self._parse(job_id, raw) for job_id, raw in zip(job_ids, raws, strict=True)]

    def _parse(self, job_id: str, raw: str | bytes | None) -> Job | None:
        if raw is None:
            return None
        try:
            return Job.from_json(job_id, raw, self.max_attempts)
        except MalformedJob as exc:
            log.warning("job_malformed", extra={"detail": str(exc)})
            return None

    async def run_one(self, job_id: str, handlers: Mapping[str, JobHandler],
                      dead: Mapping[str, JobHandler] | None = None) -> int:
        """Load one leased job and run it (`run_job`)."""
        [job] = await self.load([job_id])
        return await self.run_job(job_id, job, handlers, dead)

    async def run_job(self, job_id: str, job: Job | None, handlers: Mapping[str, JobHandler],
                      dead: Mapping[str, JobHandler] | None = None) -> int:
        """Run one leased job; 1 if it succeeded. Its handler's exception decides what
        follows (`outcome_of`). Cancelled (the worker stops), the job goes back to due at once
        instead of waiting for its lease to run out."""
        if job is None:  # cancelled, erased, expired while due, or not a job
            await self.redis.zrem(self.keys.running, job_id)
            return 0
        handler = handlers.get(job.name)
        job.steps.bind(lambda: self._save(job))
        try:
            if handler is None:
                raise LookupError(f"no handler for job {job.name!r}")
            await handler(job)
        except asyncio.CancelledError:
            await asyncio.shield(self._reschedule(job, 0))
            raise
        except Exception as exc:
            await self._settle(job, outcome_of(exc), dead or {})
            return 0
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self.keys.running, job_id)
            pipe.delete(self.keys.job(job_id))
            await pipe.execute()
        return 1

    async def _save(self, job: Job) -> None:
        """The job as it is now (its steps done), in place: its expiry kept, and never
        written back once cancelled or erased."""
        await self.redis.set(self.keys.job(job.id), job.to_json(), xx=True, keepttl=True)

    async def _settle(self, job: Job, outcome: Outcome,
                      dead: Mapping[str, JobHandler]) -> None:
        if isinstance(outcome, Retry) and not outcome.counted:
            await self._reschedule(job, outcome.delay or 0.0)
            return
        job = replace(job, attempts=job.attempts + 1)
        log.warning("job_failed", extra={"detail": f"{job.name}: {outcome.error}",
                                         "count": job.attempts})
        if isinstance(outcome, Retry) and job.attempts < job.max_attempts:
            delay = outcome.delay if outcome.delay is not None else 2 ** job.attempts
            await self._reschedule(job, delay)
            return
        await self._dead_letter(job, Dead(outcome.error), dead)

    async def _reschedule(self, job: Job, delay: float) -> None:
        """Due again in `delay` seconds, with what it has become (attempts, steps done)."""
        job = replace(job, due=self._now() + delay)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self.keys.running, job.id)
            pipe.set(self.keys.job(job.id), job.to_json(), ex=self._ttl(job.due), xx=True)
            pipe.zadd(self.keys.due, {job.id: job.due})
            await pipe.execute()

    async def _dead_letter(self, job: Job, outcome: Dead,
                           dead: Mapping[str, JobHandler]) -> None:
        now = self._now()
        buried = await self._bury(
            keys=[self.keys.running, self.keys.job(job.id), self.keys.dead_letter(job.id),
                  self.keys.dead],
            args=[job.id, job.to_json(died=now, error=outcome.error),
                  self.dead_letter_seconds, now, now - self.dead_letter_seconds])
        on_dead = dead.get(job.name)
        if buried and on_dead is not None:
            try:
                await on_dead(job)
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
        for member in await self.redis.zrange(self.keys.dead, 0, -1):
            job_id = _text(member)
            raw = await self.redis.get(self.keys.dead_letter(job_id))
            if raw is None:
                await self.redis.zrem(self.keys.dead, job_id)
                continue
            letters.append(self._letter(job_id, raw))
        return letters

    def _letter(self, job_id: str, raw: str | bytes) -> DeadLetter:
        try:
            job = Job.from_json(job_id, raw, self.max_attempts)
        except MalformedJob as exc:
            return DeadLetter(job_id, "?", 0, 0.0, str(exc), None)
        body = json.loads(raw)
        died, error = body.get("died", 0.0), body.get("error", "")
        return DeadLetter(job_id, job.name, job.attempts,
                          float(died) if isinstance(died, int | float) else 0.0,
                          str(error), job.conversation)

    async def retry_dead(self, job_id: str) -> bool:
        """Put a dead letter back in the queue, due now, with its attempts reset (the steps
        it had done stay done)."""
        raw = await self.redis.get(self.keys.dead_letter(job_id))
        if raw is None:
            return False
        try:
            job = Job.from_json(job_id, raw, self.max_attempts)
        except MalformedJob as exc:
            log.warning("job_malformed", extra={"detail": str(exc)})
            return False
        now = self._now()
        job = replace(job, attempts=0, due=now)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.keys.job(job_id), job.to_json(), ex=self._ttl(now))
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
        ids = [_text(member) for member in await self.redis.smembers(index)]
        async with self.redis.pipeline(transaction=True) as pipe:
            for job_id in ids:
                pipe.zrem(self.keys.due, job_id)
                pipe.zrem(self.keys.running, job_id)
                pipe.zrem(self.keys.dead, job_id)
                pipe.delete(self.keys.job(job_id), self.keys.dead_letter(job_id))
            pipe.delete(index)
            await pipe.execute()
        return len(ids)


def _text(value: object) -> str:
    """A member read from Redis (text with the gateway's decoding client)."""
    return value.decode() if isinstance(value, bytes) else str(value)
