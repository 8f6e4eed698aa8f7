"""Scheduled jobs against real Redis: due jobs run once, leases expire, failures retry."""

from __future__ import annotations

import time

from bot.core.jobs import JobQueue


async def test_due_job_runs_once_and_future_job_waits(redis, prefix) -> None:
    queue = JobQueue(redis, prefix)
    ran: list[dict] = []

    async def record(args: dict) -> None:
        ran.append(args)

    await queue.schedule("record", {"n": 1}, due=time.time() - 1)
    await queue.schedule("record", {"n": 2}, due=time.time() + 3600)
    assert await queue.run_due({"record": record}) == 1
    assert await queue.run_due({"record": record}) == 0
    assert ran == [{"n": 1}]
    assert await queue.pending() == 1


async def test_two_workers_never_take_the_same_job(redis, prefix) -> None:
    import asyncio

    queue_a, queue_b = JobQueue(redis, prefix), JobQueue(redis, prefix)
    ran: list[int] = []

    async def record(args: dict) -> None:
        ran.append(args["n"])

    for n in range(20):
        await queue_a.schedule("record", {"n": n}, due=time.time() - 1)
    await asyncio.gather(queue_a.run_due({"record": record}), queue_b.run_due({"record": record}))
    assert sorted(ran) == list(range(20))


async def test_job_of_a_dead_worker_runs_again_after_its_lease(redis, prefix) -> None:
    queue = JobQueue(redis, prefix, lease_seconds=0.2)
    job_id = await queue.schedule("record", {}, due=time.time() - 1)
    # A worker took the job and died: simulate by taking it without finishing.
    taken = await queue._take(keys=[queue.keys.due, queue.keys.running],
                              args=[time.time(), time.time() + 0.2, 10])
    assert taken == [job_id]
    ran: list[str] = []

    async def record(args: dict) -> None:
        ran.append(job_id)

    assert await queue.run_due({"record": record}) == 0  # lease not yet expired
    time.sleep(0.3)
    assert await queue.run_due({"record": record}) == 1
    assert ran == [job_id]


async def test_failing_job_retries_then_goes_to_dead_letters(redis, prefix) -> None:
    queue = JobQueue(redis, prefix, max_attempts=2)

    async def boom(args: dict) -> None:
        raise RuntimeError("provider down")

    await queue.schedule("boom", {}, due=time.time() - 1)
    await queue.run_due({"boom": boom})
    assert await redis.zcard(queue.keys.due) == 1  # rescheduled with backoff
    await redis.zadd(queue.keys.due, {(await redis.zrange(queue.keys.due, 0, 0))[0]: 0})
    await queue.run_due({"boom": boom})
    assert await queue.pending() == 0
    assert await redis.llen(queue.keys.dead) == 1


async def test_cancelled_job_does_not_run(redis, prefix) -> None:
    queue = JobQueue(redis, prefix)
    job_id = await queue.schedule("record", {}, due=time.time() - 1)
    assert await queue.cancel(job_id)
    assert await queue.run_due({}) == 0
