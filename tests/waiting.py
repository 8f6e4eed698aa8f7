"""Waiting on conditions, not on time: poll a check until it holds.

A test that sleeps a fixed time is slow when the machine is fast and flaky when it is loaded.
`until` returns as soon as the check holds, so its timeout only bounds a failure and can be
generous; on timeout it fails naming what it waited for and the last value it saw.
`until_sync` is the same for threads and browser tests.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar, overload

T = TypeVar("T")

TIMEOUT = 30.0   # seconds: bounds a failure only, a pass returns as soon as the check holds
INTERVAL = 0.05  # seconds between checks


@overload
async def until(check: Callable[[], Awaitable[T]], *, timeout: float = ...,
                interval: float = ..., what: str = ...) -> T: ...
@overload
async def until(check: Callable[[], T], *, timeout: float = ..., interval: float = ...,
                what: str = ...) -> T: ...
async def until(check: Callable[[], T | Awaitable[T]], *, timeout: float = TIMEOUT,
                interval: float = INTERVAL, what: str = "the condition") -> T:
    """Call (and await, if it returns an awaitable) `check` until it returns a truthy value;
    return that value. Raise AssertionError naming `what` and the last value on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        answer = check()
        value: T = await answer if inspect.isawaitable(answer) else answer
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"waited {timeout:g} s for {what}; last value: {value!r}")
        await asyncio.sleep(interval)


def until_sync(check: Callable[[], T], *, timeout: float = TIMEOUT, interval: float = INTERVAL,
               what: str = "the condition") -> T:
    """`until` for code without an event loop (threads, selenium)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"waited {timeout:g} s for {what}; last value: {value!r}")
        time.sleep(interval)
