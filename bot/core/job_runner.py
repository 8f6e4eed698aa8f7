"""Runs the job queue's jobs concurrently in one worker process.

A send spends most of its time waiting for the provider (100 ms and more per call), so one job
at a time caps a worker at about 1 ÷ latency messages a second, far below Telegram's 30. The
runner keeps up to `concurrency` jobs in flight as asyncio tasks; the providers' limits are kept
by the pacer each sender asks for a slot (connectors/send_limits.py), not by running less.

Jobs for one person (the same conversation) run one after the other, in the order they were
due, so their messages arrive in the order they were written.

Each job is leased in Redis while it runs (`JobQueue.take`), and the runner renews the leases
of its running jobs, so a long job (a campaign's start over a large audience) is never taken by
a second worker while a dead worker's jobs still come back when their lease runs out.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Mapping

from bot.core.clock import Clock, system_clock
from bot.core.jobs import Job, JobHandler, JobQueue

BUSY_POLL = 0.2  # while jobs run, look for new due jobs at least this often (seconds)


class JobRunner:
    def __init__(self, queue: JobQueue, handlers: Mapping[str, JobHandler],
                 dead: Mapping[str, JobHandler] | None = None, concurrency: int = 32,
                 clock: Clock = system_clock) -> None:
        self.queue = queue
        self.handlers = handlers
        self.dead = dead or {}
        self.concurrency = concurrency
        self.clock = clock
        self._tasks: dict[asyncio.Task[int], str] = {}
        self._last_for: dict[str, asyncio.Task[int]] = {}  # each person's latest job here
        self._next_extend = 0.0

    @property
    def running(self) -> int:
        return len(self._tasks)

    async def fill(self) -> int:
        """Start as many due jobs as there are free places; returns how many started."""
        await self._extend_leases()
        free = self.concurrency - len(self._tasks)
        if free <= 0:
            return 0
        job_ids = await self.queue.take(free)
        for job_id, job in zip(job_ids, await self.queue.load(job_ids), strict=True):
            person = job.conversation if job is not None else None
            before = self._last_for.get(person) if person else None
            task = asyncio.create_task(self._run(job_id, job, before))
            self._tasks[task] = job_id
            if person:
                self._last_for[person] = task
            task.add_done_callback(functools.partial(self._finished, person))
        return len(job_ids)

    async def _run(self, job_id: str, job: Job | None,
                   before: asyncio.Task[int] | None) -> int:
        if before is not None:  # the person's earlier job first: their messages keep order
            await asyncio.wait([before])
        return await self.queue.run_job(job_id, job, self.handlers, self.dead)

    def _finished(self, person: str | None, task: asyncio.Task[int]) -> None:
        self._tasks.pop(task, None)
        if person and self._last_for.get(person) is task:
            del self._last_for[person]
        if not task.cancelled():
            task.exception()  # run_job logs a job's failure; nothing is left unretrieved

    async def _extend_leases(self) -> None:
        if self._tasks and time.monotonic() >= self._next_extend:
            await self.queue.extend(list(self._tasks.values()))
            self._next_extend = time.monotonic() + self.queue.lease / 3

    async def wait(self, poll_seconds: float) -> None:
        """Until there may be work to start: a job finished (a place is free), a job is due,
        a job due now was scheduled (the queue's wake signal), or `poll_seconds`."""
        if len(self._tasks) >= self.concurrency:  # full: nothing can start before one ends
            await asyncio.wait(set(self._tasks), timeout=poll_seconds,
                               return_when=asyncio.FIRST_COMPLETED)
            return
        timeout = poll_seconds
        next_due = await self.queue.next_due()
        if next_due is not None:
            timeout = min(timeout, max(0.0, next_due - self.clock().timestamp()))
        if self._tasks:
            timeout = min(timeout, BUSY_POLL)
            if timeout > 0:
                await asyncio.wait(set(self._tasks), timeout=timeout,
                                   return_when=asyncio.FIRST_COMPLETED)
        elif timeout > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.queue.wait_for_work(timeout), timeout=timeout + 1)

    async def stop(self, grace_seconds: float) -> None:
        """Let running jobs finish for `grace_seconds`, then cancel the rest (each goes back
        to due at once; a send in hand still finishes, see bot/core/critical.py)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace_seconds)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=5)
