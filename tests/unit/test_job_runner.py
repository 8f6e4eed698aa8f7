"""The worker runs jobs concurrently: provider latency no longer caps throughput at one job per
call, never more than `concurrency` at once; a long job keeps its lease (no second worker takes
it); a stopping worker puts the jobs it cancels straight back in the queue. Real Redis."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bot.core.job_runner import JobRunner
from bot.core.jobs import JobQueue


async def run_until(runner: JobRunner, done: list[Any], count: int, limit: float) -> float:
    """Drive the runner as the worker does until `count` jobs are done; returns the seconds."""
    start = time.monotonic()
    while len(done) < count and time.monotonic() - start < limit:
        await runner.fill()
        await runner.wait(0.5)
    return time.monotonic() - start


async def test_twenty_slow_jobs_run_ten_at_a_time(redis, prefix) -> None:
    queue = JobQueue(redis, prefix)
    running, most, done = 0, 0, []

    async def slow(args: dict[str, Any]) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0.3)  # a provider's latency
        running -= 1
        done.append(args["n"])

    for n in range(20):
        await queue.schedule("slow", {"n": n}, due=time.time())
    seconds = await run_until(JobRunner(queue, {"slow": slow}, concurrency=10), done, 20, 10)
    assert sorted(done) == list(range(20))
    assert most == 10            # never more than the concurrency
    assert seconds < 0.3 * 20 / 2  # well under one at a time (6 s): two rounds of ten


async def test_a_long_job_keeps_its_lease(redis, prefix) -> None:
    queue, other = JobQueue(redis, prefix, lease_seconds=1.2), JobQueue(redis, prefix)
    done: list[Any] = []

    async def long(args: dict[str, Any]) -> None:
        await asyncio.sleep(3.0)  # more than two leases
        done.append(1)

    await queue.schedule("long", {}, due=time.time())
    runner = JobRunner(queue, {"long": long})
    driving = asyncio.create_task(run_until(runner, done, 1, 10))
    taken = []
    for _ in range(12):
        await asyncio.sleep(0.25)
        taken += await other.take(10)  # another worker, looking for expired leases
    await driving
    assert done == [1] and taken == []


async def test_jobs_cancelled_by_a_stop_go_back_at_once(redis, prefix) -> None:
    queue = JobQueue(redis, prefix)  # a 60 s lease: the job must not wait for it

    async def hangs(args: dict[str, Any]) -> None:
        await asyncio.sleep(60)

    job_id = await queue.schedule("hangs", {}, due=time.time())
    runner = JobRunner(queue, {"hangs": hangs})
    assert await runner.fill() == 1
    await runner.stop(grace_seconds=0.1)
    assert runner.running == 0
    assert await queue.take(10) == [job_id]


async def test_one_persons_jobs_run_in_order_others_alongside(redis, prefix) -> None:
    queue = JobQueue(redis, prefix)
    finished: list[str] = []

    async def reply(args: dict[str, Any]) -> None:
        await asyncio.sleep(args["takes"])  # the first reply is the slowest to send
        finished.append(args["name"])

    now = time.time()
    jobs = [("anna", 0, 0.3), ("anna", 1, 0.1), ("anna", 2, 0.0), ("bo", 0, 0.0)]
    for person, index, takes in jobs:
        await queue.schedule("reply", {"name": f"{person}{index}", "takes": takes},
                             due=now + index * 0.001, conversation=f"telegram:{person}")
    await run_until(JobRunner(queue, {"reply": reply}), finished, 4, 10)
    assert [n for n in finished if n.startswith("anna")] == ["anna0", "anna1", "anna2"]
    assert finished[0] == "bo0"  # not held up by anna's slow first reply
