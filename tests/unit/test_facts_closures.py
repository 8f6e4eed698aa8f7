"""The closure job, step by step against real Redis: each place a worker can die leaves a mark
that the next run reads, so the booking is cancelled and its person told exactly once; a booking
the person cancelled first, or that a later version offers again, is left alone; a notice whose
provider call a dead worker left `sending` is never sent twice; the sweep finds a booking made
by a process that had not yet reloaded the schedule."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.booking.closures import (
    CANCELLING,
    CLOSE_JOB,
    NOTICE,
    SENDING,
    SWEEP_JOB,
    TOLD,
    Closures,
    NoticeRoute,
    closure_job_id,
    digest,
)
from bot.core.booking.schedule import Schedule
from bot.core.booking.service import BookingService, reminder_job_id
from bot.core.booking.store import BookingStore
from bot.core.booking.texts import BookingTexts
from bot.core.critical import CriticalSections
from bot.core.delivery import Deliveries
from bot.core.jobs import Job, JobQueue, RetryLater
from bot.core.keys import JOBS_DUE, Keys
from bot.core.messages import Reply
from bot.runtime.wiring import load_content
from connectors.webchat import WebchatStore
from tests.clock import FixedClock
from tests.conftest import make_settings
from tests.journeys import FIXTURE_CONFIG

DROPIN = (FIXTURE_CONFIG / "dropin.yml").read_text(encoding="utf-8")
IN_DOUBT_AFTER = 30.0


@dataclass
class World:
    clock: FixedClock
    bookings: BookingService
    closures: Closures
    webchat: WebchatStore
    keys: Keys
    published: list[Schedule]
    sent: list[tuple[str, Reply]] = field(default_factory=list)
    failures: list[Exception] = field(default_factory=list)

    def day(self, offset: int) -> str:
        return self.clock.day(offset).isoformat()

    def close(self, day: str) -> None:
        """Publish a schedule that closes `day` (what the closure jobs read as published)."""
        text = DROPIN.replace("exceptions: []", f"exceptions:\n  - {{date: {day}}}")
        locations = {s.location for s in self.published[0].sessions.values()}
        self.published.append(Schedule.parse(text, "dropin.yml", locations))

    async def run(self, code: str) -> None:
        await self.closures.close(Job(closure_job_id(code), CLOSE_JOB, {"code": code}))

    async def web_notices(self, session: str) -> list[dict]:
        return [m for m in await self.webchat.since(session, 0)
                if m["text"].startswith("Sorry, your booking")]


@pytest.fixture
async def world(redis, prefix) -> World:
    settings = make_settings(prefix, config_dir=FIXTURE_CONFIG)
    static = load_content(settings)
    clock = FixedClock(datetime(2026, 11, 23, 11, 0, tzinfo=UTC))  # a Monday, 12:00 local
    keys = Keys(prefix)
    jobs = JobQueue(redis=redis, keys=keys, clock=clock)
    store = BookingStore(redis=redis, keys=keys, retention_seconds=settings.retention_seconds)
    bookings = BookingService(static.schedule, store, jobs, clock=clock)
    webchat = WebchatStore(redis=redis, keys=keys, clock=clock,
                           retention_seconds=settings.retention_seconds)
    published = [static.schedule]
    holder: dict[str, World] = {}

    async def current() -> tuple[Schedule, frozenset[str]]:
        return published[-1], frozenset(static.places.ids)

    async def send(user_id: str, reply: Reply) -> None:
        if holder["world"].failures:
            raise holder["world"].failures.pop()
        holder["world"].sent.append((user_id, reply))

    closures = Closures(bookings=bookings,
                        texts=BookingTexts(static.content, static.schedule, static.places),
                        content=static.content, published=current,
                        routes={"webchat": NoticeRoute(writes=webchat.append_writes),
                                "telegram": NoticeRoute(send=send)},
                        deliveries=Deliveries(), critical=CriticalSections(),
                        in_doubt_after=IN_DOUBT_AFTER)
    holder["world"] = World(clock, bookings, closures, webchat, keys, published)
    return holder["world"]


async def book(world: World, conversation: str, day: str, time: str = "10:00") -> str:
    result = await world.bookings.book(conversation, f"unga-jarva:{day}T{time}", "en")
    assert result.booking is not None, result.status
    return result.booking.code


async def test_a_run_after_the_notice_finds_it_told_and_does_nothing(world, redis) -> None:
    day = world.day(3)
    code = await book(world, "webchat:session-one-abcdefghijklmnop", day)
    world.close(day)
    for _ in range(3):
        await world.run(code)
    notices = await world.web_notices("session-one-abcdefghijklmnop")
    assert len(notices) == 1 and code in notices[0]["text"]
    assert notices[0]["buttons"] == [{"title": "Book another time",
                                      "payload": "/book:svc:jobbtorg-unga"}]
    assert (await world.bookings.store.get(code)).status == "cancelled"
    assert await redis.zscore(world.keys(JOBS_DUE), reminder_job_id(code)) is None
    assert await redis.get(world.keys(NOTICE, id=digest(code))) == TOLD


async def test_a_worker_that_died_after_cancelling_still_owes_the_notice(world, redis) -> None:
    day = world.day(3)
    code = await book(world, "telegram:501", day)
    world.close(day)
    # What a worker killed between the cancellation and the notice leaves behind.
    await redis.set(world.keys(NOTICE, id=digest(code)), CANCELLING)
    await world.bookings.cancel("telegram:501", code)
    await world.run(code)
    await world.run(code)
    assert [user for user, _ in world.sent] == ["501"]
    assert world.sent[0][1].text.startswith(f"Sorry, your booking {code} is cancelled")


async def test_a_booking_the_person_cancelled_or_a_reopened_time_is_left_alone(world) -> None:
    day = world.day(3)
    cancelled_first = await book(world, "telegram:502", day)
    reopened = await book(world, "telegram:503", day, "11:00")
    world.close(day)
    await world.bookings.cancel("telegram:502", cancelled_first)
    await world.run(cancelled_first)
    world.published.append(world.published[0])  # a rollback came before the job ran
    await world.run(reopened)
    assert world.sent == []
    assert (await world.bookings.store.get(reopened)).status == "booked"


async def test_a_notice_left_sending_by_a_dead_worker_is_never_sent_twice(world,
                                                                         redis) -> None:
    day = world.day(3)
    code = await book(world, "telegram:504", day)
    world.close(day)
    mark = world.keys(NOTICE, id=digest(code))
    await world.bookings.cancel("telegram:504", code)
    await redis.set(mark, f"{SENDING}{world.clock.timestamp()!r}")  # killed during the call
    with pytest.raises(RetryLater):  # its call may still be running: wait it out
        await world.run(code)
    world.clock.now += timedelta(seconds=IN_DOUBT_AFTER)
    await world.run(code)
    assert world.sent == [] and await redis.get(mark) == TOLD  # in doubt: counted as told


async def test_a_failed_provider_call_is_retried_and_sent_once(world, redis) -> None:
    day = world.day(3)
    code = await book(world, "telegram:505", day)
    world.close(day)
    world.failures.append(RetryLater(5, failed=True, reason="provider answered 503"))
    with pytest.raises(RetryLater):
        await world.run(code)
    assert await redis.get(world.keys(NOTICE, id=digest(code))) == CANCELLING
    await world.run(code)
    await world.run(code)
    assert len(world.sent) == 1


async def test_the_sweep_finds_a_booking_made_on_a_process_that_had_not_reloaded(
        world, redis) -> None:
    day = world.day(4)
    world.close(day)
    late = await book(world, "telegram:506", day)  # this process still has the old schedule
    await world.closures.sweep(Job("closure-sweep:x", SWEEP_JOB, {}))
    assert await redis.zscore(world.keys(JOBS_DUE), closure_job_id(late)) is not None
    await world.run(late)
    assert [user for user, _ in world.sent] == ["506"]
