"""When a published schedule takes away booked times: a date or a session closed, a time or a
weekday changed, a session removed, or a capacity lowered below the seats taken (the latest
bookings beyond it). Each such booking is cancelled and its person told once, in the booking's
language, through their own channel, with a button to book another time.

The content workspace (bot/core/workspace/facts.py) publishes the schedule and queues one
`booking_closure` job per booking it affects in the same Redis transaction, so a process that
dies half way leaves either both or neither. A `booking_closure_sweep` job a few seconds later
looks again: a gateway that had not yet reloaded the schedule may have booked a closed time.

Each job decides when it runs, against the schedule published then (read from Redis, not the
worker's memory): a booking the person cancelled meanwhile, or that a later version offers again,
is left alone. Its progress is a mark per booking (`booking:notice:<digest>`):

    (none) --SET NX--> cancelling --> told                 (web chat: one script)
                                  --> sending:<since> --> told   (Telegram, SMS: a provider call)

Exactly once: the mark `cancelling` is written before the booking is cancelled, so a run after a
crash knows the cancellation was its own and still owes the notice. Where the notice is a write
to a store the person reads (the web chat's log), one Lua script appends it and sets `told`
unless the mark already says `told`: it happens once, whatever crashes or runs twice. Where it is
a provider call, the mark says `sending:<since>` before the call and `told` after it, inside a
critical section (a stopping worker finishes it). A worker killed during the call leaves
`sending`: the provider may or may not have the message, and neither Telegram nor the SMS
providers can be asked, so the next run does not send it again (as campaign sends do) once the
call is certainly over (`in_doubt_after`, the job lease: a live worker renews its lease, and the
lease is longer than a provider's timeout); the notice counts as told and in doubt. Only a kill
between the mark and the request leaving the process loses a notice that way.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from bot.core.booking.schedule import Schedule
from bot.core.booking.service import BookingService
from bot.core.booking.store import Booking, BookingStatus
from bot.core.booking.texts import BookingTexts
from bot.core.clock import ttl_until
from bot.core.content import Content
from bot.core.critical import CriticalSections
from bot.core.delivery import Deliveries, UnknownChannel
from bot.core.jobs import GiveUp, Job, JobHandler, NewJob, RetryLater, text_field
from bot.core.keys import Erasure, Owner, declare
from bot.core.messages import Button, Purpose, Reply
from bot.core.payloads import BOOKING
from bot.core.redis_types import Command

log = logging.getLogger("lotsen.closures")

CLOSE_JOB = "booking_closure"
SWEEP_JOB = "booking_closure_sweep"
NOTICE = declare("booking:notice:{id}", owner=Owner.SYSTEM, expiry="slot end + retention",
                 erasure=Erasure.NOT_PERSONAL,
                 note="how far a closure notice got (cancelling, sending, told), by a digest of "
                      "the booking code")
CANCELLING, SENDING, TOLD = "cancelling", "sending:", "told"
LOOKAHEAD_DAYS = 120  # bookings are looked for this far ahead (and at least each horizon)

# KEYS: the notice's mark. ARGV: `told`, its ttl, the writes (JSON: a list of commands).
# The writes put the notice where the person reads it; with the mark, once. Their keys are not
# listed in KEYS: Lotsen runs on one Redis (with Sentinel), never a cluster.
WRITE_ONCE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return 0 end
for _, command in ipairs(cjson.decode(ARGV[3])) do redis.call(unpack(command)) end
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
return 1
"""
# KEYS: the mark. ARGV: what it must say, what it says next (its expiry kept).
SWAP = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
return 1
"""

# The schedule published now and every location id it may hold bookings at.
Published = Callable[[], Awaitable[tuple[Schedule, frozenset[str]]]]
NoticeWrites = Callable[[str, Sequence[Reply]], list[Command]]  # user id, replies -> writes
NoticeSend = Callable[[str, Reply], Awaitable[None]]  # user id, reply: the provider call


class Reason(StrEnum):
    CLOSED = "closed"      # the time is no longer in the schedule
    CAPACITY = "capacity"  # beyond the new capacity (the latest bookings go)


@dataclass(frozen=True)
class Held:
    """A booking that holds a seat, with when it was made (the capacity keeps the earliest)."""

    booking: Booking
    created: int


@dataclass(frozen=True)
class Affected:
    booking: Booking
    reason: Reason

    def to_json(self) -> dict[str, str]:
        """What staff see before they approve: no conversation, no name."""
        return {"code": self.booking.code, "slot": self.booking.slot, "reason": self.reason}


@dataclass(frozen=True)
class NoticeRoute:
    """How a closure notice reaches a person on one channel: `writes` puts it where they read
    it (the web chat's log), exactly once with the mark; `send` calls the provider now
    (Telegram, SMS), guarded by the mark. A channel with neither gets `Deliveries.send`."""

    writes: NoticeWrites | None = None
    send: NoticeSend | None = None


def affected(schedule: Schedule, held: Iterable[Held], now: float) -> list[Affected]:
    """The bookings (of slots starting after `now`) that `schedule` takes away: their time is
    gone (or moved to another location or service), or they are beyond their slot's capacity,
    the latest made first."""
    by_slot: dict[str, list[Held]] = defaultdict(list)
    for one in held:
        if one.booking.status == BookingStatus.BOOKED and one.booking.start > now:
            by_slot[one.booking.slot].append(one)
    found: list[Affected] = []
    for slot_id, group in sorted(by_slot.items()):
        group.sort(key=lambda h: (h.created, h.booking.code))
        slot = schedule.offers(slot_id)
        kept = []
        for one in group:
            if slot is None or slot.session.location != one.booking.location or \
                    slot.session.service != one.booking.service:
                found.append(Affected(one.booking, Reason.CLOSED))
            else:
                kept.append(one)
        if slot is not None:
            found += [Affected(h.booking, Reason.CAPACITY) for h in kept[slot.session.capacity:]]
    return found


def digest(code: str) -> str:
    """A booking code's digest: job ids and marks outlive an erasure without naming the code."""
    return hashlib.sha256(code.encode()).hexdigest()[:20]


def closure_job_id(code: str) -> str:
    return f"closure:{digest(code)}"


def closure_jobs(found: Sequence[Affected], now: float) -> list[NewJob]:
    """One job per booking, with a fixed id: queueing it twice is one job."""
    return [NewJob(CLOSE_JOB, {"code": a.booking.code}, due=now,
                   conversation=a.booking.conversation, job_id=closure_job_id(a.booking.code))
            for a in found]


class HeldBookings:
    """The bookings holding seats, read through the booking store's keys."""

    def __init__(self, bookings: BookingService) -> None:
        self.bookings = bookings
        self.store = bookings.store

    async def future(self, locations: Iterable[str], days: int) -> list[Held]:
        """Every active booking at these locations from today to `days` days ahead."""
        today = self.bookings.today()
        keys = [self.store.day_key(location, (today + timedelta(n)).isoformat())
                for location in sorted(set(locations)) for n in range(days + 1)]
        codes: set[str] = set()
        async with self.store.redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.smembers(key)
            for members in await pipe.execute():
                codes |= set(members)
        return await self._held(sorted(codes))

    async def in_slot(self, slot: str) -> list[Held]:
        return await self._held(sorted(await self.store.redis.smembers(
            self.store.slot_key(slot))))

    async def _held(self, codes: Sequence[str]) -> list[Held]:
        if not codes:
            return []
        async with self.store.redis.pipeline(transaction=False) as pipe:
            for code in codes:
                pipe.hgetall(self.store.booking_key(code))
            found = await pipe.execute()
        return [Held(Booking.from_hash(data), int(data.get("created") or 0))
                for data in found if data and data.get("status") == BookingStatus.BOOKED]


def lookahead(*schedules: Schedule) -> int:
    return max(LOOKAHEAD_DAYS, *(s.horizon_days for s in schedules)) + 1


class Closures:
    """The worker's two jobs: `booking_closure` (one booking) and `booking_closure_sweep`."""

    def __init__(self, *, bookings: BookingService, texts: BookingTexts, content: Content,
                 published: Published, routes: Mapping[str, NoticeRoute],
                 deliveries: Deliveries, critical: CriticalSections,
                 in_doubt_after: float) -> None:
        self.bookings = bookings
        self.store = bookings.store
        self.redis = bookings.store.redis
        self.keys = bookings.store.keys
        self.texts = texts
        self.content = content
        self.published = published
        self.routes = routes
        self.deliveries = deliveries
        self.critical = critical
        self.in_doubt_after = in_doubt_after
        self.held = HeldBookings(bookings)
        self._write_once = self.redis.register_script(WRITE_ONCE)
        self._swap = self.redis.register_script(SWAP)

    def handlers(self) -> dict[str, JobHandler]:
        return {CLOSE_JOB: self.close, SWEEP_JOB: self.sweep}

    def _now(self) -> float:
        return self.bookings.now().timestamp()

    # ------------------------------------------------------------------ the sweep
    async def sweep(self, job: Job) -> None:
        """Queue a closure for every booking the published schedule takes away (a booking
        already handled is found handled by its job)."""
        schedule, locations = await self.published()
        now = self._now()
        found = affected(schedule, await self.held.future(locations, lookahead(schedule)), now)
        if found:
            await self.bookings.jobs.schedule_many(closure_jobs(found, now))
            log.info("closure_sweep_queued", extra={"count": len(found)})

    # ------------------------------------------------------------------ one booking
    async def close(self, job: Job) -> None:
        """Cancel one booking the published schedule takes away, and tell its person once."""
        code = text_field(job.payload, "code")
        mark = self.keys(NOTICE, id=digest(code))
        state = await self.redis.get(mark)
        if state == TOLD:
            return
        booking = await self.store.get(code)
        if booking is None:
            return  # erased meanwhile
        if state is None:
            if booking.status != BookingStatus.BOOKED or not await self._still_affected(booking):
                return  # cancelled by the person, or a later version offers the time again
            if not await self.redis.set(mark, CANCELLING, nx=True, ex=self._ttl(booking)):
                raise RetryLater(1.0, reason="another run of this closure started")
            state = CANCELLING
        if state == CANCELLING:
            await self.bookings.cancel(booking.conversation, booking.code)  # done before: fine
        await self._tell(booking, mark, state)

    async def _still_affected(self, booking: Booking) -> bool:
        schedule, _ = await self.published()
        held = await self.held.in_slot(booking.slot)
        return any(a.booking.code == booking.code
                   for a in affected(schedule, held, self._now()))

    def _ttl(self, booking: Booking) -> int:
        return ttl_until(booking.end + self.store.retention, self.bookings.clock)

    def notice(self, booking: Booking) -> Reply:
        """The notice in the booking's language, with a button that books the same service."""
        language = booking.language
        # The schedule in memory: the one before the change until this process reloads it.
        service = self.texts.schedule.services.get(booking.service)
        title = self.content.catalogs.gettext(language, service.title) if service else \
            booking.service
        text = self.content.text("booking_closed", language, service=title,
                                 location=self.texts.location(booking.location),
                                 when=self.texts.when_booking(booking, language),
                                 code=booking.code)
        rebook = Button(self.content.text("booking_rebook_button", language),
                        BOOKING("svc", booking.service))
        return Reply(text, (rebook,), purpose=Purpose.NOTICE)

    async def _tell(self, booking: Booking, mark: str, state: str) -> None:
        channel, _, user_id = booking.conversation.partition(":")
        route = self.routes.get(channel, NoticeRoute())
        reply = self.notice(booking)
        if route.writes is not None:
            writes = [[str(part) for part in command]
                      for command in route.writes(user_id, [reply])]
            await self._write_once(keys=[mark], args=[TOLD, self._ttl(booking),
                                                      json.dumps(writes, ensure_ascii=False)])
        elif route.send is not None:
            await self._send_once(route.send, user_id, reply, mark, state)
        else:  # any other channel: delivered, then marked (a crash between tells twice)
            try:
                await self.deliveries.send(booking.conversation, [reply])
            except UnknownChannel:
                raise GiveUp("the booking's channel has no delivery") from None
            await self.redis.set(mark, TOLD, ex=self._ttl(booking))

    async def _send_once(self, send: NoticeSend, user_id: str, reply: Reply, mark: str,
                         state: str) -> None:
        now = self._now()
        if state.startswith(SENDING):  # a worker died during the provider call
            age = now - float(state.removeprefix(SENDING))
            if age < self.in_doubt_after:
                raise RetryLater(self.in_doubt_after - age, reason="a notice being sent")
            if await self._swap(keys=[mark], args=[state, TOLD]):
                log.warning("closure_notice_in_doubt")
            return
        sending = f"{SENDING}{now!r}"
        if not await self._swap(keys=[mark], args=[state, sending]):
            return  # another run got there first
        await self.critical.run(self._call(send, user_id, reply, mark, sending))

    async def _call(self, send: NoticeSend, user_id: str, reply: Reply, mark: str,
                    sending: str) -> None:
        """The provider call and its mark; shielded, so a stopping worker records it."""
        try:
            await send(user_id, reply)
        except BaseException:  # not sent: the job's retry (or its dead letter) decides
            await self._swap(keys=[mark], args=[sending, CANCELLING])
            raise
        await self._swap(keys=[mark], args=[sending, TOLD])
