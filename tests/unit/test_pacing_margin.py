"""Issue 23: slots spaced 1/rate apart let a request that reached the provider late share one
second with `rate` later ones (3,000 Telegram sends at 28.5/s put 32 into one second). A rate is
now the provider's limit, and slots are spaced so that no one-second window at the provider
holds more than it while every request arrives within JITTER of its slot."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from itertools import pairwise

import pytest
from redis.asyncio import Redis

from bot.core.keys import Keys
from connectors.send_limits import JITTER, Pacer, paced_rate, spacing

ANSWER_SLACK = 0.03  # the latency of Redis' answer, which this process adds to a slot it reads


def most_in_one_second(times: list[float]) -> int:
    """The largest number of `times` in any window [t, t + 1 s): what the provider counts."""
    times, most, first = sorted(times), 0, 0
    for last, at in enumerate(times):
        while times[first] <= at - 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


def late(pattern: str, seed: int = 0) -> Callable[[int], float]:
    """How late request i reaches the provider: always under JITTER, in a harmful pattern."""
    most = JITTER * 0.999
    shuffled = random.Random(seed)
    delays: dict[str, Callable[[int], float]] = {
        "none": lambda i: 0.0,
        "every 31st": lambda i: most if i % 31 == 0 else 0.0,     # one late, thirty on time
        "every 7th": lambda i: most if i % 7 == 0 else 0.0,
        "first of a run": lambda i: most if i % 40 < 3 else 0.0,  # a stalled event loop
        "random": lambda i: shuffled.uniform(0.0, most),
    }
    return delays[pattern]


@pytest.mark.parametrize("limit", [30.0, 20.0, 5.0, 1.0, 0.5])
@pytest.mark.parametrize("pattern", ["none", "every 31st", "every 7th", "first of a run",
                                     "random"])
def test_no_second_at_the_provider_holds_more_than_the_limit(limit: float,
                                                             pattern: str) -> None:
    delay = late(pattern)
    arrivals = [i * spacing(limit) + delay(i) for i in range(400)]
    assert most_in_one_second(arrivals) <= max(limit, 1.0)


def test_the_old_spacing_broke_the_limit_with_a_few_late_requests() -> None:
    """The measure above can fail: slots 1/rate apart, or at 95 % of the rate as before, with
    three requests in a row arriving 0.1 s late (a stalled event loop) give 33 and 32 (the
    issue's figure) in one second."""
    delay = late("first of a run")
    assert [most_in_one_second([i / pace + delay(i) for i in range(400)])
            for pace in (30.0, 30.0 * 0.95)] == [33, 32]


def test_the_pace_is_a_little_under_the_limit() -> None:
    assert paced_rate(30.0) == pytest.approx(30 / (1 + JITTER))  # 27.3 for Telegram's 30
    assert 27.0 < paced_rate(30.0) < 30.0
    assert spacing(1.0) == pytest.approx(1 + JITTER)  # one message a second to a chat
    assert spacing(0.5) == pytest.approx(2 + JITTER)  # one every two seconds
    assert paced_rate(0.0) == 0.0  # no limit configured: released at once
    for limit in (30.0, 10.0, 1.0, 0.25):
        assert paced_rate(limit) == pytest.approx(1 / spacing(limit))


async def test_slots_reserved_at_once_leave_room_for_late_requests(redis: Redis,
                                                                   prefix: str) -> None:
    """Real Redis, many sends asking at once: `rate` + 1 consecutive slots span at least
    1 + JITTER seconds, and the whole run is not slower than the pace."""
    pacer = Pacer(redis=redis, keys=Keys(prefix), hold=5.0)

    async def slot() -> float:
        wait = await pacer.reserve([("tg", 30.0)])
        return time.monotonic() + wait

    slots = sorted(await asyncio.gather(*(slot() for _ in range(90))))
    assert min(b - a for a, b in pairwise(slots)) >= spacing(30.0) - ANSWER_SLACK
    assert min(b - a for a, b in zip(slots, slots[30:], strict=False)) >= \
        1 + JITTER - ANSWER_SLACK
    assert slots[-1] - slots[0] == pytest.approx(89 * spacing(30.0), abs=ANSWER_SLACK)


async def test_a_chat_is_paced_with_the_margin_too(redis: Redis, prefix: str) -> None:
    pacer = Pacer(redis=redis, keys=Keys(prefix), hold=5.0)
    sent: list[float] = []
    for _ in range(3):
        await pacer.wait_turn([("tg", 30.0), ("chat:1", 1.0)])
        sent.append(time.monotonic())
    assert [b - a >= 1 + JITTER - ANSWER_SLACK for a, b in pairwise(sent)] == [True, True]
