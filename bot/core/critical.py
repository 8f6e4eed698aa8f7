"""Work a cancelled task must not cut in half: a provider accepted a message, and the job must
record that before it stops, or the next worker sends it again.

`run` shields the work from the caller's cancellation; a process that stops (its task
cancelled, SIGTERM) `drain`s what is still running before it closes its Redis and HTTP clients.
Only a hard kill in the middle of a provider's answer can still repeat a message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

T = TypeVar("T")


class CriticalSections:
    def __init__(self) -> None:
        # Any: the sections' results differ, and a Future is invariant in its result type.
        self._running: set[asyncio.Future[Any]] = set()

    async def run(self, work: Awaitable[T]) -> T:
        task = asyncio.ensure_future(work)
        self._running.add(task)
        task.add_done_callback(self._finished)
        return await asyncio.shield(task)

    def _finished(self, task: asyncio.Future[Any]) -> None:
        self._running.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: the caller may be gone (it was cancelled)

    async def drain(self, timeout: float) -> None:
        """Wait (at most `timeout` seconds) for the sections still running."""
        if self._running:
            await asyncio.wait(set(self._running), timeout=timeout)
