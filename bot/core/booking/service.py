"""Booking decisions: which slots are open, booking, cancelling, reminders, erasure.

Combines the schedule (configuration), the store (Redis) and the job queue (reminders). The clock
is injectable so tests can book on the day daylight-saving time changes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from bot.core.booking.schedule import Schedule, Slot
from bot.core.booking.store import Booking, BookingStore, BookResult, CancelResult
from bot.core.booking.when import in_part
from bot.core.clock import Clock, system_clock
from bot.core.jobs import JobQueue
from bot.core.metrics import BOOKINGS
from bot.core.stats.counters import Cell
from bot.core.stats.recorder import StatsRecorder

REMINDER_JOB = "booking_reminder"
STATS_TOPIC = "book_dropin"  # the intent bookings belong to, in the statistics
STATS_OF_ATTENDANCE = {"attended": "attended", "no_show": "no_show"}


@dataclass(frozen=True)
class OpenSlot:
    slot: Slot
    seats_left: int


@dataclass
class BookingResult:
    status: BookResult  # booked, exists, overlap, full or gone
    booking: Booking | None = None
    slot: Slot | None = None
    alternatives: list[OpenSlot] = field(default_factory=list)


class BookingService:
    def __init__(self, schedule: Schedule, store: BookingStore, jobs: JobQueue,
                 clock: Clock = system_clock, stats: StatsRecorder | None = None,
                 districts: dict[str, str] | None = None) -> None:
        self.schedule = schedule
        self.store = store
        self.jobs = jobs
        self.clock = clock
        self.stats = stats
        self.districts = districts or {}  # location id -> its district, for the statistics

    def stats_cell(self, booking: Booking) -> Cell:
        """A booking's place in the statistics: its channel, language and district."""
        return Cell(booking.conversation.partition(":")[0], booking.language, STATS_TOPIC,
                    self.districts.get(booking.location, ""))

    async def _count(self, counter: str, booking: Booking, n: int = 1) -> None:
        if self.stats is not None:
            await self.stats.add(counter, self.stats_cell(booking), n)

    async def attendance_marked(self, booking: Booking, status: str) -> None:
        """Staff marked attendance (`booking` as it was before): counted on the booking's day,
        and a changed mark moves its count."""
        if self.stats is None or booking.attendance == status:
            return
        cell, day = self.stats_cell(booking), date.fromisoformat(booking.day)
        if booking.attendance in STATS_OF_ATTENDANCE:
            await self.stats.add(STATS_OF_ATTENDANCE[booking.attendance], cell, -1, day)
        await self.stats.add(STATS_OF_ATTENDANCE[status], cell, 1, day)

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        return self.now().astimezone(self.schedule.timezone).date()

    async def open_slots(self, *, service: str | None = None, location: str | None = None,
                         day: date | None = None, part: str | None = None) -> list[OpenSlot]:
        slots = [s for s in self.schedule.slots(now=self.now(), service=service,
                                                location=location, day=day)
                 if in_part(s.start.hour, part)]
        taken = await self.store.seats_taken([s.id for s in slots])
        return [OpenSlot(s, s.session.capacity - n) for s, n in zip(slots, taken, strict=True)
                if n < s.session.capacity]

    async def open_days(self, *, service: str, location: str) -> list[date]:
        days: dict[date, None] = {}
        for open_slot in await self.open_slots(service=service, location=location):
            days.setdefault(open_slot.slot.day)
        return list(days)

    async def book(self, conversation: str, slot_id: str, language: str) -> BookingResult:
        slot = self.schedule.slot(slot_id, now=self.now())
        if slot is None:
            existing = await self._existing(conversation, slot_id)
            if existing:
                return BookingResult(BookResult.EXISTS, existing)
            return BookingResult(BookResult.GONE)
        attempt = await self.store.book(
            conversation=conversation, slot=slot.id, session=slot.session.id,
            service=slot.session.service, location=slot.session.location,
            day=slot.day.isoformat(), start=int(slot.start.timestamp()),
            end=int(slot.end.timestamp()), capacity=slot.session.capacity, language=language,
            now=int(self.now().timestamp()))
        BOOKINGS.labels(result=attempt.status).inc()
        booking = await self.store.get(attempt.code) if attempt.code else None
        if attempt.status is BookResult.BOOKED and booking is not None:
            await self._schedule_reminder(booking)
            await self._count("bookings_made", booking)
        result = BookingResult(attempt.status, booking, slot)
        if attempt.status is BookResult.FULL:
            result.alternatives = await self.alternatives(slot)
        return result

    async def _existing(self, conversation: str, slot_id: str) -> Booking | None:
        return next((b for b in await self.store.for_user(conversation) if b.slot == slot_id),
                    None)

    async def alternatives(self, slot: Slot, limit: int = 4) -> list[OpenSlot]:
        """Open slots of the same service, nearest in time to the one that was full."""
        others = await self.open_slots(service=slot.session.service)
        others.sort(key=lambda o: (o.slot.session.location != slot.session.location,
                                   abs((o.slot.start - slot.start).total_seconds())))
        return others[:limit]

    async def active(self, conversation: str) -> list[Booking]:
        now = int(self.now().timestamp())
        return [b for b in await self.store.for_user(conversation) if b.end > now]

    async def cancel(self, conversation: str, code: str) -> tuple[CancelResult, Booking | None]:
        booking = await self.store.get(code)
        status = await self.store.cancel(conversation, code, int(self.now().timestamp()))
        if status is CancelResult.CANCELLED and booking is not None:
            BOOKINGS.labels(result="cancelled").inc()
            await self.jobs.cancel(reminder_job_id(booking.code))
            await self._count("bookings_cancelled", booking)
        return status, booking

    async def erase(self, conversation: str) -> int:
        erased = await self.store.erase_user(conversation, int(self.now().timestamp()))
        for booking in erased:
            await self.jobs.cancel(reminder_job_id(booking.code))
        return len(erased)

    async def _schedule_reminder(self, booking: Booking) -> None:
        due = booking.start - self.schedule.reminder_hours_before * 3600
        if due <= self.now().timestamp():
            return  # booked less than the reminder time ahead: the confirmation is enough
        await self.jobs.schedule(REMINDER_JOB, {"code": booking.code}, due=due,
                                 job_id=reminder_job_id(booking.code),
                                 conversation=booking.conversation)

    def local(self, instant: int) -> datetime:
        return datetime.fromtimestamp(instant, UTC).astimezone(self.schedule.timezone)

    def reminder_lead(self) -> timedelta:
        return timedelta(hours=self.schedule.reminder_hours_before)


def reminder_job_id(code: str) -> str:
    """The reminder's job id: the same for the same booking (scheduling it twice is one job),
    without the code itself, because the queue's index of ids keeps no expiry."""
    return f"reminder:{hashlib.sha256(code.encode()).hexdigest()[:20]}"
