"""Scheduled jobs against real Redis: due jobs run once, leases expire, failures retry."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from bot.core.clock import system_clock
from bot.core.jobs import Job, JobQueue
from bot.core.keys import Keys
from tests.clock import FixedClock


async def test_due_job_runs_once_and_future_job_waits(redis, prefix) -> None:
    queue = JobQueue(redis=redis, keys=Keys(prefix), clock=system_clock)
    ran: list[dict] = []

    async def record(job: Job) -> None:
        ran.append(dict(job.payload))

    await queue.schedule("record", {"n": 1}, due=time.time() - 1)
    await queue.schedule("record", {"n": 2}, due=time.time() + 3600)
    assert await queue.run_due({"record": record}) == 1
    assert await queue.run_due({"record": record}) == 0
    assert ran == [{"n": 1}]
    assert await queue.pending() == 1


async def test_two_workers_never_take_the_same_job(redis, prefix) -> None:
    import asyncio

    queue_a, queue_b = (JobQueue(redis=redis, keys=Keys(prefix), clock=system_clock)
                        for _ in range(2))
    ran: list[int] = []

    async def record(job: Job) -> None:
        ran.append(job.payload["n"])

    for n in range(20):
        await queue_a.schedule("record", {"n": n}, due=time.time() - 1)
    await asyncio.gather(queue_a.run_due({"record": record}), queue_b.run_due({"record": record}))
    assert sorted(ran) == list(range(20))


async def test_job_of_a_dead_worker_runs_again_after_its_lease(redis, prefix) -> None:
    clock = FixedClock(datetime(2026, 11, 23, 11, 0, tzinfo=UTC))  # leases run on it
    queue = JobQueue(redis=redis, keys=Keys(prefix), lease_seconds=0.2, clock=clock)
    job_id = await queue.schedule("record", {}, due=clock.timestamp() - 1)
    # A worker took the job and died: simulate by taking it without finishing.
    taken = await queue._take(keys=[queue.keys.due, queue.keys.running],
                              args=[clock.timestamp(), clock.timestamp() + 0.2, 10])
    assert taken == [job_id]
    ran: list[str] = []

    async def record(args: dict) -> None:
        ran.append(job_id)

    assert await queue.run_due({"record": record}) == 0  # lease not yet expired
    clock.now += timedelta(seconds=0.3)
    assert await queue.run_due({"record": record}) == 1
    assert ran == [job_id]


async def test_failing_job_retries_then_goes_to_dead_letters(redis, prefix) -> None:
    queue = JobQueue(redis=redis, keys=Keys(prefix), clock=system_clock, max_attempts=2)

    async def boom(args: dict) -> None:
        raise RuntimeError("provider down")

    await queue.schedule("boom", {}, due=time.time() - 1)
    await queue.run_due({"boom": boom})
    assert await redis.zcard(queue.keys.due) == 1  # rescheduled with backoff
    await redis.zadd(queue.keys.due, {(await redis.zrange(queue.keys.due, 0, 0))[0]: 0})
    await queue.run_due({"boom": boom})
    assert await queue.pending() == 0
    [letter] = await queue.dead_letters()
    assert (letter.name, letter.attempts, letter.error) == ("boom", 2, "RuntimeError")


async def test_dead_letters_expire_and_can_be_retried_or_dropped(redis, prefix) -> None:
    queue = JobQueue(redis=redis, keys=Keys(prefix), clock=system_clock, max_attempts=1,
                     dead_letter_seconds=3600)

    async def boom(args: dict) -> None:
        raise RuntimeError("provider down")

    first = await queue.schedule("boom", {"n": 1}, due=time.time() - 1)
    second = await queue.schedule("boom", {"n": 2}, due=time.time() - 1)
    await queue.run_due({"boom": boom})
    assert {d.id for d in await queue.dead_letters()} == {first, second}
    ttl = await redis.ttl(queue.keys.dead_letter(first))
    assert 3500 < ttl <= 3600  # a dead letter is kept for the dead-letter period, then gone
    assert await queue.drop_dead(first) and not await queue.drop_dead(first)
    assert await queue.retry_dead(second)
    ran: list[dict] = []

    async def record(job: Job) -> None:
        ran.append(dict(job.payload))

    assert await queue.run_due({"boom": record}) == 1
    assert ran == [{"n": 2}] and await queue.dead_letters() == []


async def test_every_job_body_expires_after_its_due_time(redis, prefix) -> None:
    queue = JobQueue(redis=redis, keys=Keys(prefix), clock=system_clock)
    job_id = await queue.schedule("later", {}, due=time.time() + 3600)
    ttl = await redis.ttl(queue.keys.job(job_id))
    assert 3600 < ttl <= 3600 + 2 * 24 * 3600 + 1


async def test_erasure_removes_a_persons_jobs_and_dead_letters(redis, prefix) -> None:
    queue = JobQueue(redis=redis, keys=Keys(prefix), clock=system_clock, max_attempts=1)

    async def boom(args: dict) -> None:
        raise RuntimeError("down")

    mine = await queue.schedule("later", {"to": "555"}, due=time.time() + 60,
                                conversation="telegram:555")
    failed = await queue.schedule("boom", {"to": "555"}, due=time.time() - 1,
                                  conversation="telegram:555")
    other = await queue.schedule("later", {"to": "777"}, due=time.time() + 60,
                                 conversation="telegram:777")
    await queue.run_due({"boom": boom})
    assert [d.id for d in await queue.dead_letters()] == [failed]
    assert await queue.erase_for("telegram:555") == 2
    assert await queue.dead_letters() == []
    assert await redis.exists(queue.keys.job(mine), queue.keys.dead_letter(failed)) == 0
    assert await redis.zrange(queue.keys.due, 0, -1) == [other]
    assert await redis.exists(queue.keys.to("telegram:555")) == 0


async def test_cancelled_job_does_not_run(redis, prefix) -> None:
    queue = JobQueue(redis=redis, keys=Keys(prefix), clock=system_clock)
    job_id = await queue.schedule("record", {}, due=time.time() - 1)
    assert await queue.cancel(job_id)
    assert await queue.run_due({}) == 0
