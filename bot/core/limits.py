"""Abuse limits: fixed-window counters in Redis, shared by every gateway process.

A subject (a conversation, a client address) is stored only as a digest, so a limit's key never
names a person and needs no erasure: it expires with its window.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from bot.core.clock import Clock
from bot.core.keys import LIMIT, Keys
from bot.core.redis_types import Command, StrRedis


@dataclass(frozen=True)
class Verdict:
    over: bool
    count: int
    retry_after: int  # seconds until the window ends

    @property
    def first_refusal(self) -> bool:
        """The first message over the limit in this window (the only one worth answering)."""
        return self.over and self.count == self.limit_plus_one

    limit_plus_one: int = 0


class Limits:
    def __init__(self, *, redis: StrRedis, keys: Keys, clock: Clock) -> None:
        self.redis = redis
        self.keys = keys
        self.clock = clock

    def _key(self, name: str, subject: str, window_seconds: int) -> tuple[str, int, int]:
        now = int(self.clock().timestamp())
        window = now // window_seconds
        digest = hashlib.sha256(subject.encode()).hexdigest()[:24]
        return self.keys(LIMIT, name=name, subject=digest, window=window), now, window

    async def used(self, name: str, subject: str, window_seconds: int) -> int:
        """How many events `subject` had in the current window (counting none)."""
        key, _, _ = self._key(name, subject, window_seconds)
        return int(await self.redis.get(key) or 0)

    def used_read(self, name: str, subject: str, window_seconds: int) -> Command:
        """`used`, read with someone else's commands (its reply: the count, or None)."""
        return ("GET", self._key(name, subject, window_seconds)[0])

    def hit_writes(self, name: str, subject: str, window_seconds: int) -> list[Command]:
        """Count one event with someone else's writes. With `used_read` before it, two
        requests at the same moment may both pass at the limit: a soft limit, as abuse limits
        may be, for a round trip less on every message."""
        key = self._key(name, subject, window_seconds)[0]
        return [("INCR", key), ("EXPIRE", key, window_seconds + 1)]

    async def hit(self, name: str, subject: str, limit: int, window_seconds: int) -> Verdict:
        """Count one event for `subject`; `over` when it is beyond `limit` in the window."""
        key, now, window = self._key(name, subject, window_seconds)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, window_seconds + 1)
            count, _ = await pipe.execute()
        retry = (window + 1) * window_seconds - now
        return Verdict(int(count) > limit, int(count), max(1, retry), limit + 1)


DAY = 24 * 3600


@dataclass(frozen=True)
class DailyLimit:
    """At most `per_subject` events a day for one conversation and `per_address` for one
    client address (when the channel knows it and it is not exempt)."""

    limits: Limits
    name: str
    per_conversation: int | None
    per_address: int | None

    async def reached(self, conversation: str, address: str | None) -> bool:
        checks = [(f"{self.name}-conv", conversation, self.per_conversation),
                  (f"{self.name}-addr", address, self.per_address)]
        for name, subject, limit in checks:
            if subject and limit is not None and \
                    await self.limits.used(name, subject, DAY) >= limit:
                return True
        return False

    async def count(self, conversation: str, address: str | None) -> None:
        for name, subject, limit in ((f"{self.name}-conv", conversation, self.per_conversation),
                                     (f"{self.name}-addr", address, self.per_address)):
            if subject and limit is not None:
                await self.limits.hit(name, subject, limit, DAY)
