"""The worker runs jobs concurrently: provider latency no longer caps throughput at one job per
call, never more than `concurrency` at once; a long job keeps its lease (no second worker takes
it); a stopping worker puts the jobs it cancels straight back in the queue. Real Redis."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.core.clock import system_clock
from bot.core.job_runner import JobRunner
from bot.core.jobs import Job, JobQueue
from bot.core.keys import JOBS_RUNNING, Keys
from tests.clock import FixedClock
from tests.waiting import until


async def run_until(runner: JobRunner, done: list[Any], count: int, limit: float) -> float:
    """Drive the runner as the worker does until `count` jobs are done; returns the seconds."""
    start = time.monotonic()
    while len(done) < count and time.monotonic() - start < limit:
        await runner.fill()
        await runner.wait(0.5)
    return time.monotonic() - start


async def test_twenty_slow_jobs_run_ten_at_a_time(redis, prefix) -> None:
    queue = JobQueue(redis=redis, keys=Keys(prefix), clock=system_clock)
    running, most, done = 0, 0, []

    async def slow(job: Job) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.3)  # a provider's latency
        running -= 1
        done.append(job.payload["n"])

    for n in range(20):
        await queue.schedule("slow", {"n": n}, due=time.time())
    seconds = await run_until(JobRunner(queue, {"slow": slow}, concurrency=10), done, 20, 10)
    assert sorted(done) == list(range(20))
    assert most == 10            # never more than the concurrency
    assert seconds < 0.3 * 20 / 2  # well under one at a time (6 s): two rounds of ten


async def test_a_long_job_keeps_its_lease(redis, prefix) -> None:
    # Leases run on the queues' clock, which only the test moves: a step at a time, each
    # shorter than a lease, and only once the runner has renewed the lease for the new time.
    # Without renewals the job's lease would run out at the second step.
    clock = FixedClock(datetime(2026, 11, 23, 11, 0, tzinfo=UTC))
    queue = JobQueue(redis=redis, keys=Keys(prefix), lease_seconds=0.3, clock=clock)
    other = JobQueue(redis=redis, keys=Keys(prefix), clock=clock)
    running = Keys(prefix)(JOBS_RUNNING)
    finish, done = asyncio.Event(), []

    async def long(args: dict[str, Any]) -> None:
        await finish.wait()  # runs until the test has seen several leases go by
        done.append(1)

    job_id = await queue.schedule("long", {}, due=clock.timestamp())
    runner = JobRunner(queue, {"long": long}, clock=clock)
    driving = asyncio.create_task(run_until(runner, done, 1, 60))
    taken = []
    for _ in range(8):  # 1.6 s on the clock: more than five leases
        clock.now += timedelta(seconds=0.2)
        renewed_to = clock.timestamp() + queue.lease - 0.001

        async def renewed(deadline: float = renewed_to) -> bool:
            return (await redis.zscore(running, job_id) or 0) >= deadline

        await until(renewed, what="the runner to renew the lease")
        taken += await other.take(10)  # another worker, looking for expired leases
    finish.set()
    await driving
    assert done == [1] and taken == []


async def test_jobs_cancelled_by_a_stop_go_back_at_once(redis, prefix) -> None:
    # a 60 s lease: the job must not wait for it
    queue = JobQueue(redis=redis, keys=Keys(prefix), clock=system_clock)

    async def hangs(args: dict[str, Any]) -> None:
        await asyncio.Event().wait()  # never ends by itself

    job_id = await queue.schedule("hangs", {}, due=time.time())
    runner = JobRunner(queue, {"hangs": hangs})
    assert await runner.fill() == 1
    await runner.stop(grace_seconds=0.1)
    assert runner.running == 0
    assert await queue.take(10) == [job_id]


async def test_one_persons_jobs_run_in_order_others_alongside(redis, prefix) -> None:
    queue = JobQueue(redis=redis, keys=Keys(prefix), clock=system_clock)
    finished: list[str] = []

    async def reply(job: Job) -> None:
        await asyncio.sleep(job.payload["takes"])  # the first reply is the slowest to send
        finished.append(job.payload["name"])

    now = time.time()
    jobs = [("anna", 0, 0.3), ("anna", 1, 0.1), ("anna", 2, 0.0), ("bo", 0, 0.0)]
    for person, index, takes in jobs:
        await queue.schedule("reply", {"name": f"{person}{index}", "takes": takes},
                             due=now + index * 0.001, conversation=f"telegram:{person}")
    await run_until(JobRunner(queue, {"reply": reply}), finished, 4, 10)
    assert [n for n in finished if n.startswith("anna")] == ["anna0", "anna1", "anna2"]
    assert finished[0] == "bo0"  # not held up by anna's slow first reply
