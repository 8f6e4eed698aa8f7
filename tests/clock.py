"""A clock the tests inject, and every date computed from it.

A test never reads today's date: it builds services with `FixedClock` and derives days and slot
ids with `day()`/`slot()`. Expiry is sent to Redis as durations from this clock
(bot/core/clock.py), so Redis's own, real date does not matter either.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

STOCKHOLM = ZoneInfo("Europe/Stockholm")


@dataclass
class FixedClock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def timestamp(self) -> float:
        return self.now.timestamp()

    def day(self, offset: int = 0) -> date:
        """The Stockholm date `offset` days after the clock's."""
        return self.now.astimezone(STOCKHOLM).date() + timedelta(days=offset)

    def slot(self, session: str, offset: int, time: str) -> str:
        """A slot id of the test schedule: `<session>:<date>T<HH:MM>`."""
        return f"{session}:{self.day(offset).isoformat()}T{time}"


def real_clock_day(offset: int = 0) -> date:
    """For tests that drive separate processes, which run on the real clock: a date relative to
    it. The test schedule is open every day from 08:00 to 20:00, so any such day works."""
    return datetime.now(STOCKHOLM).date() + timedelta(days=offset)


class TickingClock:
    """A fixed start that then runs at real speed: for tests whose worker must see time move
    (the outbox queues a second message moments after the first; a job is due a second after
    the answer), still independent of today's date."""

    def __init__(self, start: datetime) -> None:
        self.start, self.began = start, time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.began)

    def timestamp(self) -> float:
        return self().timestamp()
