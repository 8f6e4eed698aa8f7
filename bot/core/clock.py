"""The clock is injected: the core asks `clock()` for the time instead of reading the system
clock, so tests can run on any date (a DST night, Christmas Eve) without waiting for it.

Redis has its own real clock. Expiry is therefore always sent as a duration computed from the
injected clock (`ttl_until`), never as an absolute instant: a key meant to live until a slot's
end plus the retention period lives exactly that long as the core counts time, whatever Redis
thinks the date is.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def ttl_until(instant: float, clock: Clock) -> int:
    """Seconds from the clock's now until `instant` (at least 1: Redis refuses 0)."""
    return max(1, int(instant - clock().timestamp()))
