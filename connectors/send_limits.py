"""Provider send limits shared by every worker process: each send reserves a slot in Redis.

A fixed one-second counter lets 30 sends through at the end of one second and 30 more at the
start of the next (60 in one second), and a refused send goes back to the queue to try again.
Here each scope (Telegram overall, one chat, SMS) keeps the time its next send may start, and
one Lua script reserves the earliest slot free in every scope a send falls under, using Redis'
own clock so all workers agree.

A rate is the provider's limit: at most `rate` messages in any one-second window *at the
provider*. A request reaches the provider a little after its slot (the wake-up, the Redis calls
and the HTTP request after it, on a busy machine), up to JITTER seconds. Slots 1/rate apart
then let two requests `rate` slots apart land within one second: at 30/s less 5 %, 3,000
Telegram sends averaged 28.5/s and still put 32 into one second at the provider (issue 23).
So slots are spaced (1 + JITTER) / rate apart (`spacing`; Telegram's 30/s is paced at
27.3/s): any `rate` + 1 consecutive slots span 1 + JITTER seconds, and however each request
is delayed within JITTER, no one-second window at the provider holds more than `rate`.

The send sleeps until its slot, and one that wakes more than LATE after it (a busy event loop)
takes a new slot rather than crowd the next ones. A send whose chat is not free yet reserves
nothing (that would hold up the shared scope for everyone): it waits for the chat and asks
again. A slot further away than `hold` seconds is not reserved: the job is retried later
instead of holding a worker's place.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from bot.core.jobs import RetryLater
from bot.core.keys import Erasure, Keys, Owner, declare
from bot.core.redis_types import StrRedis

PACE = declare("pace:{scope}", owner=Owner.SYSTEM, expiry="a second after its next free slot",
               erasure=Erasure.EXPIRES, note="when the next send in a scope may start")
HOLD_SECONDS = 2.0
# Seconds a request may reach the provider after its slot (LATE is part of it). Measured over
# 1,500 Telegram sends at 100 ms provider latency: 14 ms at the 99th percentile, 100 ms at most.
JITTER = 0.1
LATE = 0.015   # seconds a send may start after its slot
MAX_TRIES = 5  # slots missed (or a busy chat) in a row before the job is retried instead


def spacing(per_second: float) -> float:
    """Seconds between two slots of a scope limited to `per_second` in any one-second window
    at the provider, when each request arrives up to JITTER after its slot: (1 + JITTER) / rate.
    For a limit under one a second (one message per 1/rate seconds) the jitter is added once."""
    return 1.0 / per_second + JITTER / max(per_second, 1.0)


def paced_rate(per_second: float) -> float:
    """The messages per second that `spacing` lets through: the pace a campaign's jobs are
    released at (Reach.per_second), so they come due no faster than their slots."""
    return 1.0 / spacing(per_second) if per_second > 0 else 0.0


# KEYS: one per scope, the shared one first (e.g. Telegram overall, then the chat).
# ARGV[1]: hold; ARGV[1 + i]: seconds between sends in KEYS[i] (`spacing`).
# Returns {kind, seconds}: 'slot' reserved in `seconds`; 'busy': a narrower scope (the chat) is
# not free until `seconds` from now, nothing reserved (the shared scope is not held up for it);
# 'far': the slot is more than `hold` away, nothing reserved.
RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local slot = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'))
for i = 2, #KEYS do
  local free = tonumber(redis.call('GET', KEYS[i]) or '0')
  if free > slot then return {'busy', string.format('%.6f', free - now)} end
end
if slot - now > tonumber(ARGV[1]) then return {'far', string.format('%.6f', slot - now)} end
for i, key in ipairs(KEYS) do
  local free = slot + tonumber(ARGV[i + 1])
  redis.call('SET', key, string.format('%.6f', free), 'PX', math.ceil((free - now) * 1000) + 1000)
end
return {'slot', string.format('%.6f', slot - now)}
"""


class Pacer:
    def __init__(self, *, redis: StrRedis, keys: Keys, hold: float = HOLD_SECONDS) -> None:
        self.keys = keys
        self.hold = hold
        self._reserve = redis.register_script(RESERVE)

    async def reserve(self, limits: Sequence[tuple[str, float]]) -> float:
        """Reserve the next slot allowed by every `(scope, per_second)` (the shared scope
        first; `per_second` is the provider's limit, paced with `spacing`); returns the
        seconds until it (0 when free now). Raises `RetryLater` when the
        slot is more than `hold` away, and `Busy` when a narrower scope is not free yet."""
        limits = [(scope, rate) for scope, rate in limits if rate > 0]
        if not limits:
            return 0.0
        kind, seconds = await self._reserve(
            keys=[self.keys(PACE, scope=scope) for scope, _ in limits],
            args=[self.hold, *(spacing(rate) for _, rate in limits)])
        wait = float(seconds)
        if kind == "busy":
            raise Busy(wait)
        if kind == "far":
            raise RetryLater(max(0.05, wait - self.hold / 2), reason="send rate")
        return wait

    async def wait_turn(self, limits: Sequence[tuple[str, float]]) -> None:
        """Wait for a reserved slot (or `RetryLater`). Woken more than LATE seconds after it
        (a busy event loop), the send would crowd the next slots: it takes a new one."""
        loop = asyncio.get_running_loop()
        for _ in range(MAX_TRIES):
            try:
                wait = await self.reserve(limits)
            except Busy as busy:  # e.g. this chat had a message less than a second ago
                if busy.wait > self.hold:
                    raise RetryLater(busy.wait, reason="send rate") from None
                await asyncio.sleep(busy.wait)
                continue
            if wait <= 0:
                return
            slot = loop.time() + wait
            await asyncio.sleep(wait)
            if loop.time() - slot <= LATE:
                return
        raise RetryLater(0.5, reason="send slot missed")


class Busy(Exception):
    """A narrower scope (one chat) is not free for `wait` seconds; nothing was reserved."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"busy for {wait:.3f} s")
        self.wait = wait
