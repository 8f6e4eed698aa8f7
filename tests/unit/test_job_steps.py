"""The typed job and its outcomes, against real Redis: a multi-step job never repeats a step
that succeeded (neither when retried nor when run again after its worker died), `GiveUp` is a
dead letter at once with its reason and the true attempt count, a job cancelled or erased
while it runs does not come back, a job queued before the upgrade still runs, and a body that
is not a job is named in the log and left alone. Leases run on a fixed clock."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.jobs import GiveUp, Job, JobQueue, RetryLater
from bot.core.keys import JOB, Keys
from tests.clock import FixedClock

START = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


async def make_due(queue: JobQueue, clock: FixedClock) -> None:
    """Move the clock past every job's due time (a retry's backoff)."""
    last = await queue.redis.zrange(queue.keys.due, -1, -1, withscores=True)
    if last:
        clock.now = datetime.fromtimestamp(max(clock.timestamp(), last[0][1]) + 1, UTC)


async def test_a_retried_job_skips_the_steps_that_succeeded(redis, prefix, clock) -> None:
    queue = JobQueue(redis=redis, keys=Keys(prefix), clock=clock)
    calls: list[str] = []

    async def call(name: str) -> None:
        calls.append(name)
        if name == "leave" and calls.count("leave") == 1:
            raise RuntimeError("provider down")  # the second step fails the first time

    async def two_steps(job: Job) -> None:
        await job.steps.run("refuse", lambda: call("refuse"))
        await call("leave")

    await queue.schedule("two_steps", {}, due=clock.timestamp())
    assert await queue.run_due({"two_steps": two_steps}) == 0
    await make_due(queue, clock)
    assert await queue.run_due({"two_steps": two_steps}) == 1
    assert calls == ["refuse", "leave", "leave"]  # the refusal once


async def test_a_job_run_again_after_its_worker_died_skips_saved_steps(redis, prefix,
                                                                       clock) -> None:
    dying, other = (JobQueue(redis=redis, keys=Keys(prefix), clock=clock) for _ in range(2))
    calls: list[str] = []
    first_done = asyncio.Event()

    async def record(name: str) -> None:
        calls.append(name)

    async def dies_after_the_first_step(job: Job) -> None:
        await job.steps.run("first", lambda: record("first"))
        first_done.set()
        await asyncio.Event().wait()  # the worker dies here: the job never ends on it

    async def both_steps(job: Job) -> None:
        await job.steps.run("first", lambda: record("first"))
        await job.steps.run("second", lambda: record("second"))

    await dying.schedule("two", {}, due=clock.timestamp())
    running = asyncio.create_task(dying.run_due({"two": dies_after_the_first_step}))
    await asyncio.wait_for(first_done.wait(), 10)
    clock.now += timedelta(seconds=dying.lease + 1)  # its lease runs out
    assert await other.run_due({"two": both_steps}) == 1
    assert calls == ["first", "second"]
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running


async def test_give_up_is_a_dead_letter_at_once_with_its_reason(redis, prefix, clock) -> None:
    queue = JobQueue(redis=redis, keys=Keys(prefix), max_attempts=5, clock=clock)
    buried: list[Job] = []

    async def refused(job: Job) -> None:
        raise GiveUp("provider refused the number")

    async def on_dead(job: Job) -> None:
        buried.append(job)

    job_id = await queue.schedule("send", {"to": "x"}, due=clock.timestamp())
    await queue.run_due({"send": refused}, dead={"send": on_dead})
    assert await queue.pending() == 0
    [letter] = await queue.dead_letters()
    assert (letter.id, letter.attempts, letter.error) == (
        job_id, 1, "GiveUp: provider refused the number")
    assert [(job.id, dict(job.payload)) for job in buried] == [(job_id, {"to": "x"})]


async def test_retry_later_without_a_delay_backs_off_and_counts(redis, prefix, clock) -> None:
    queue = JobQueue(redis=redis, keys=Keys(prefix), max_attempts=3, clock=clock)

    async def flaky(job: Job) -> None:
        raise RetryLater(None, failed=True, reason="timed out")

    job_id = await queue.schedule("flaky", {}, due=clock.timestamp())
    await queue.run_due({"flaky": flaky})
    assert await redis.zscore(queue.keys.due, job_id) == clock.timestamp() + 2  # 2^1 s
    [job] = await queue.load([job_id])
    assert job is not None and job.attempts == 1 and job.due == clock.timestamp() + 2


async def test_a_job_cancelled_or_erased_while_it_runs_does_not_come_back(redis, prefix,
                                                                          clock) -> None:
    queue = JobQueue(redis=redis, keys=Keys(prefix), max_attempts=1, clock=clock)

    async def erased_then_fails(job: Job) -> None:
        await queue.erase_for("telegram:555")  # "delete my data" while the job runs
        raise RuntimeError("provider down")

    async def cancelled_then_retried(job: Job) -> None:
        await queue.cancel(job.id)
        raise RetryLater(5)

    await queue.schedule("erased", {"to": "555"}, due=clock.timestamp(),
                         conversation="telegram:555")
    await queue.schedule("cancelled", {}, due=clock.timestamp())
    await queue.run_due({"erased": erased_then_fails, "cancelled": cancelled_then_retried})
    assert await queue.dead_letters() == []
    assert [k async for k in redis.scan_iter(match=Keys(prefix).glob(JOB))] == []


async def test_a_job_queued_before_the_upgrade_still_runs(redis, prefix, clock) -> None:
    queue = JobQueue(redis=redis, keys=Keys(prefix), max_attempts=4, clock=clock)
    old_body = {"name": "record", "args": {"n": 1}, "attempts": 1,
                "conversation": "telegram:555"}  # no max_attempts, due or steps
    await redis.set(queue.keys.job("old"), json.dumps(old_body))
    await redis.zadd(queue.keys.due, {"old": clock.timestamp()})
    ran: list[Job] = []

    async def record(job: Job) -> None:
        ran.append(job)

    assert await queue.run_due({"record": record}) == 1
    [job] = ran
    assert (job.id, dict(job.payload), job.attempts, job.max_attempts, job.conversation,
            job.steps.done) == ("old", {"n": 1}, 1, 4, "telegram:555", frozenset())


async def test_a_body_that_is_not_a_job_is_named_in_the_log_and_left_alone(
        redis, prefix, clock, caplog) -> None:
    queue = JobQueue(redis=redis, keys=Keys(prefix), clock=clock)
    await redis.set(queue.keys.job("bad"), json.dumps({"args": {}}))
    await redis.zadd(queue.keys.due, {"bad": clock.timestamp()})
    with caplog.at_level(logging.WARNING, logger="lotsen.jobs"):
        assert await queue.run_due({}) == 0
    assert any("'name' must be text" in getattr(r, "detail", "") for r in caplog.records)
    assert await queue.pending() == 0  # never taken again
    assert await redis.get(queue.keys.job("bad")) == json.dumps({"args": {}})  # unchanged
