"""The pacer keeps a provider's limits over every worker: slots (1 + JITTER)/rate apart in each
scope a send falls under (overall and per chat), reserved atomically in real Redis, so many sends
asking at once still never put more than `rate` into any one-second window; a slot too far away
is refused with a retry instead of being held."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from itertools import pairwise

import pytest

from bot.core.jobs import RetryLater
from bot.core.keys import Keys
from connectors.send_limits import JITTER, Pacer

SMS = 4.0 * (1 + JITTER)  # paced 4 a second


def most_in_one_second(times: list[float], slack: float = 0.03) -> int:
    """The largest number of `times` in any window [t, t + 1 s); `slack` allows for the
    latency of each answer, which this process's clock adds to the slot it reads."""
    times, most, first = sorted(times), 0, 0
    for last, at in enumerate(times):
        while times[first] <= at - 1.0 + slack:
            first += 1
        most = max(most, last - first + 1)
    return most


async def slot(pacer: Pacer, limits: Sequence[tuple[str, float]]) -> float:
    """When the reserved slot is, in this process's time (the answer's latency aside)."""
    wait = await pacer.reserve(limits)
    return time.monotonic() + wait


async def test_sixty_sends_at_once_are_spaced_to_the_rate(redis, prefix) -> None:
    pacer = Pacer(redis=redis, keys=Keys(prefix), hold=5.0)
    rate = 20.0 * (1 + JITTER)  # paced 20 a second
    slots = sorted(await asyncio.gather(*(slot(pacer, [("tg", rate)]) for _ in range(60))))
    gaps = [b - a for a, b in pairwise(slots)]
    assert min(gaps) >= 0.05 - 0.03  # 1/20 s apart
    assert most_in_one_second(slots) == 20
    assert slots[-1] - slots[0] == pytest.approx(59 / 20, abs=0.05)  # ... not slower either


async def test_a_chat_gets_one_slot_a_second_and_holds_up_no_other_chat(redis,
                                                                          prefix) -> None:
    pacer = Pacer(redis=redis, keys=Keys(prefix), hold=5.0)

    async def send(chat: int) -> tuple[int, float]:
        await pacer.wait_turn([("tg", 30.0), (f"chat:{chat}", 1.0)])
        return chat, time.monotonic()

    sent = await asyncio.gather(*(send(n % 3) for n in range(9)))  # three chats, three each
    for chat in range(3):
        times = sorted(at for c, at in sent if c == chat)
        assert [b - a >= 1.0 - 0.03 for a, b in pairwise(times)] == [True, True]
    # The three chats start at once: each one's first send before any chat's second.
    assert sorted(chat for chat, _ in sorted(sent, key=lambda s: s[1])[:3]) == [0, 1, 2]
    waiting = asyncio.create_task(send(0))  # chat 0 is busy for a second now ...
    await asyncio.sleep(0.05)
    await send(7)
    assert not waiting.done()  # ... chat 7 went all the same (not after chat 0)
    _, fourth = await waiting
    assert fourth - max(at for c, at in sent if c == 0) >= 1.0 - 0.03  # chat 0 did wait


async def test_a_slot_beyond_the_hold_is_refused_and_not_reserved(redis, prefix) -> None:
    pacer = Pacer(redis=redis, keys=Keys(prefix), hold=0.5)
    waits = [await pacer.reserve([("sms", SMS)]) for _ in range(3)]  # 0, 0.25, 0.5
    assert waits[2] == pytest.approx(0.5, abs=0.05)
    with pytest.raises(RetryLater) as refused:
        await pacer.reserve([("sms", SMS)])
    assert refused.value.failed is False and 0 < refused.value.delay <= 0.75
    await asyncio.sleep(0.3)
    assert await pacer.reserve([("sms", SMS)]) == pytest.approx(0.45, abs=0.15)  # next free
