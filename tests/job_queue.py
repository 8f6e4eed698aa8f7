"""What the job queue still holds, for tests that wait for the worker to finish its work
(rather than sleeping and hoping it has)."""

from __future__ import annotations

from redis.asyncio import Redis

from bot.core.keys import JOBS_DUE, JOBS_RUNNING, Keys


async def jobs_left(redis: Redis, prefix: str, due_by: float | None = None) -> int:
    """How many jobs are running or due (by `due_by`, a timestamp; None: due at any time)."""
    keys = Keys(prefix)
    due = (await redis.zcard(keys(JOBS_DUE)) if due_by is None
           else await redis.zcount(keys(JOBS_DUE), "-inf", due_by))
    return int(due) + int(await redis.zcard(keys(JOBS_RUNNING)))


async def queue_idle(redis: Redis, prefix: str, due_by: float | None = None) -> bool:
    """Nothing running and nothing due: every job so far has run to its end (its reply sent,
    and a duplicate, had the queue made one, sent too)."""
    return await jobs_left(redis, prefix, due_by) == 0
