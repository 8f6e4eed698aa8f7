"""Bookings in Redis. One Lua script decides a booking atomically, so capacity holds however
many gateway processes book the last seat at once, a double click books once, and a person never
holds two bookings in overlapping slots.

Keys (under the prefix): `booking:<code>` (hash), `booking:slot:<slot>` (set of codes holding a
seat), `booking:user:<conversation>` (hash code -> "start|end|slot"), `booking:day:<location>:
<date>` (set of codes, for staff); declared in bot/core/keys.py. Everything expires `retention`
seconds after the slot ends, counted from the caller's clock (`now`): Redis is told a duration,
never an instant, so its own clock does not matter (bot/core/clock.py).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import StrEnum

from bot.core.access.data import BOOKINGS, Record, Section, iso
from bot.core.keys import (
    BOOKING,
    BOOKING_DAY,
    BOOKING_HELD,
    BOOKING_REMINDED,
    BOOKING_SLOT,
    BOOKING_USER,
    Erasure,
    Keys,
    Owner,
    declare,
)
from bot.core.redis_types import StrRedis
from bot.core.staff_events import BOOKING_CANCELLED, BOOKING_CREATED, StaffEvents


class BookingStatus(StrEnum):
    """A booking hash's `status` (BOOK and CANCEL below write the same words)."""

    BOOKED = "booked"
    CANCELLED = "cancelled"


class BookResult(StrEnum):
    """What BOOK returns; the service adds GONE (the slot is no longer offered)."""

    BOOKED = "booked"
    EXISTS = "exists"    # this person already holds this slot
    OVERLAP = "overlap"  # ... or another slot at the same time
    FULL = "full"
    RETRY = "retry"      # the code drawn is taken: draw another (never leaves the store)
    GONE = "gone"


class CancelResult(StrEnum):
    """What CANCEL returns (NOT_FOUND also for a code that does not exist)."""

    CANCELLED = "cancelled"
    NOT_FOUND = "not_found"
    NOT_ACTIVE = "not_active"


class Attendance(StrEnum):
    ATTENDED = "attended"
    NO_SHOW = "no_show"


class AttendResult(StrEnum):
    """What ATTEND returns."""

    MARKED = "marked"
    UNCHANGED = "unchanged"
    NOT_ACTIVE = "not_active"  # cancelled
    MISSING = "missing"


ATTENDANCE = tuple(Attendance)
BOOKING_ATTENDANCE = declare("booking:attendance:{location}", owner=Owner.SYSTEM,
                             expiry="none (counts)", erasure=Erasure.NOT_PERSONAL,
                             note="attended/no_show counts per location, for /metrics")

# KEYS: booking, the location's attendance counts. ARGV: attended | no_show.
# A correction (attended -> no_show) moves the count, so the counts stay true.
ATTEND = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'missing' end
if status ~= 'booked' then return 'not_active' end
local before = redis.call('HGET', KEYS[1], 'attendance')
if before == ARGV[1] then return 'unchanged' end
redis.call('HSET', KEYS[1], 'attendance', ARGV[1])
if before then redis.call('HINCRBY', KEYS[2], before, -1) end
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
return 'marked'
"""

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read out over the phone

# KEYS: booking, slot set, user hash, day index, every code the person held
# ARGV: code, capacity, start, end, conversation, slot, session, service, location, language,
#       created, retention, day
BOOK = """
if redis.call('EXISTS', KEYS[1]) == 1 then return {'retry', ''} end
local start, finish = tonumber(ARGV[3]), tonumber(ARGV[4])
local latest = finish
local held = redis.call('HGETALL', KEYS[3])
for i = 1, #held, 2 do
  local s, e, slot = string.match(held[i + 1], '^(%d+)|(%d+)|(.*)$')
  s, e = tonumber(s), tonumber(e)
  if slot == ARGV[6] then return {'exists', held[i]} end
  if s < finish and start < e then return {'overlap', held[i]} end
  if e > latest then latest = e end
end
if redis.call('SCARD', KEYS[2]) >= tonumber(ARGV[2]) then return {'full', ''} end
redis.call('HSET', KEYS[1], 'code', ARGV[1], 'conversation', ARGV[5], 'slot', ARGV[6],
  'session', ARGV[7], 'service', ARGV[8], 'location', ARGV[9], 'start', ARGV[3],
  'end', ARGV[4], 'language', ARGV[10], 'created', ARGV[11], 'status', 'booked',
  'day', ARGV[13])
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3] .. '|' .. ARGV[4] .. '|' .. ARGV[6])
redis.call('SADD', KEYS[4], ARGV[1])
redis.call('SADD', KEYS[5], ARGV[1])
local retention, now = tonumber(ARGV[12]), tonumber(ARGV[11])
local ttl = math.max(1, finish + retention - now)
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('EXPIRE', KEYS[2], ttl)
redis.call('EXPIRE', KEYS[4], ttl)
redis.call('EXPIRE', KEYS[3], math.max(1, latest + retention - now))
redis.call('EXPIRE', KEYS[5], ttl, 'GT')
redis.call('EXPIRE', KEYS[5], ttl, 'NX')
return {'booked', ARGV[1]}
"""

# KEYS: booking, slot set, user hash. ARGV: code, conversation, now
CANCEL = """
if redis.call('HGET', KEYS[1], 'conversation') ~= ARGV[2] then return 'not_found' end
if redis.call('HGET', KEYS[1], 'status') ~= 'booked' then return 'not_active' end
redis.call('HSET', KEYS[1], 'status', 'cancelled', 'cancelled', ARGV[3])
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
return 'cancelled'
"""


@dataclass(frozen=True)
class Booking:
    code: str
    conversation: str
    slot: str
    session: str
    service: str
    location: str
    start: int
    end: int
    language: str
    status: str
    day: str
    attendance: str = ""  # "" | attended | no_show (marked by staff)

    @classmethod
    def from_hash(cls, data: dict[str, str]) -> Booking:
        return cls(code=data["code"], conversation=data["conversation"], slot=data["slot"],
                   session=data["session"], service=data["service"], location=data["location"],
                   start=int(data["start"]), end=int(data["end"]), language=data["language"],
                   status=data["status"], day=data["day"],
                   attendance=data.get("attendance", ""))


@dataclass(frozen=True)
class BookAttempt:
    status: BookResult  # booked, exists, overlap or full
    code: str  # the booking's (for exists and overlap: the one the person holds)


class BookingStore:
    def __init__(self, *, redis: StrRedis, keys: Keys, retention_seconds: int,
                 events: StaffEvents | None = None) -> None:
        self.redis = redis
        self.keys = keys
        self.retention = retention_seconds
        self._book = redis.register_script(BOOK)
        self._cancel = redis.register_script(CANCEL)
        self._attend = redis.register_script(ATTEND)
        self.events = events  # where the staff panel learns of new and cancelled bookings

    def booking_key(self, code: str) -> str:
        return self.keys(BOOKING, code=code)

    def reminded_key(self, code: str) -> str:
        return self.keys(BOOKING_REMINDED, code=code)

    def slot_key(self, slot: str) -> str:
        return self.keys(BOOKING_SLOT, slot=slot)

    def user_key(self, conversation: str) -> str:
        return self.keys(BOOKING_USER, conversation=conversation)

    def day_key(self, location: str, day: str) -> str:
        return self.keys(BOOKING_DAY, location=location, day=day)

    def held_key(self, conversation: str) -> str:
        return self.keys(BOOKING_HELD, conversation=conversation)

    async def book(self, *, conversation: str, slot: str, session: str, service: str,
                   location: str, day: str, start: int, end: int, capacity: int,
                   language: str, now: int) -> BookAttempt:
        for _ in range(5):
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(6))
            status, found = await self._book(
                keys=[self.booking_key(code), self.slot_key(slot), self.user_key(conversation),
                      self.day_key(location, day), self.held_key(conversation)],
                args=[code, capacity, start, end, conversation, slot, session, service,
                      location, language, now, self.retention, day])
            result = BookResult(status)
            if result is not BookResult.RETRY:
                if result is BookResult.BOOKED and self.events is not None:
                    # No code: it is the person's, and the stream outlives an erasure.
                    await self.events.publish(BOOKING_CREATED, location=location, day=day)
                return BookAttempt(result, str(found))
        raise RuntimeError("could not find a free booking code")

    async def seats_taken(self, slots: list[str]) -> list[int]:
        async with self.redis.pipeline(transaction=False) as pipe:
            for slot in slots:
                pipe.scard(self.slot_key(slot))
            return [int(n) for n in await pipe.execute()]

    async def get(self, code: str) -> Booking | None:
        data = await self.redis.hgetall(self.booking_key(code.upper()))
        return Booking.from_hash(data) if data else None

    async def for_user(self, conversation: str) -> list[Booking]:
        codes = await self.redis.hkeys(self.user_key(conversation))
        bookings = [b for b in [await self.get(code) for code in codes] if b is not None]
        return sorted((b for b in bookings if b.status == BookingStatus.BOOKED),
                      key=lambda b: b.start)

    async def cancel(self, conversation: str, code: str, now: int) -> CancelResult:
        booking = await self.get(code)
        if booking is None:
            return CancelResult.NOT_FOUND
        result = CancelResult(await self._cancel(
            keys=[self.booking_key(booking.code), self.slot_key(booking.slot),
                  self.user_key(conversation)],
            args=[booking.code, conversation, now]))
        if result is CancelResult.CANCELLED and self.events is not None:
            await self.events.publish(BOOKING_CANCELLED, location=booking.location,
                                      day=booking.day)
        return result

    async def mark_attendance(self, booking: Booking, attendance: str) -> AttendResult:
        if attendance not in ATTENDANCE:
            raise ValueError(f"attendance must be one of {', '.join(ATTENDANCE)}")
        return AttendResult(await self._attend(
            keys=[self.booking_key(booking.code),
                  self.keys(BOOKING_ATTENDANCE, location=booking.location)],
            args=[attendance]))

    async def attendance_counts(self, location: str) -> dict[str, int]:
        counts = await self.redis.hgetall(self.keys(BOOKING_ATTENDANCE, location=location))
        return {status: int(counts.get(status, 0)) for status in ATTENDANCE}

    async def for_day(self, location: str, day: str) -> list[Booking]:
        codes = await self.redis.smembers(self.day_key(location, day))
        bookings = [b for b in [await self.get(code) for code in codes] if b is not None]
        return sorted(bookings, key=lambda b: (b.start, b.code))

    async def export(self, conversation: str) -> Section:
        """Every booking this person holds or held (cancelled ones too) for a copy of their
        data: code, service and location (ids; the copy names them), times, status and
        attendance. Each is kept until the retention period after its slot ends."""
        codes = await self.redis.smembers(self.held_key(conversation))
        codes |= set(await self.redis.hkeys(self.user_key(conversation)))
        found = [b for b in [await self.get(code) for code in sorted(codes)]
                 if b is not None and b.conversation == conversation]
        found.sort(key=lambda b: (b.start, b.code))
        items: list[Record] = [
            {"code": b.code, "service": b.service, "location": b.location,
             "start": iso(b.start), "end": iso(b.end), "status": b.status,
             "attendance": b.attendance or None} for b in found]
        kept = max(b.end for b in found) + self.retention if found else None
        return Section(BOOKINGS, items, kept)

    async def erase_user(self, conversation: str, now: int) -> list[Booking]:
        """Delete every booking this person ever held, in every status; the seats of active
        ones become free. Returns the bookings that were active."""
        codes = await self.redis.smembers(self.held_key(conversation))
        codes |= set(await self.redis.hkeys(self.user_key(conversation)))
        active = []
        for code in codes:
            booking = await self.get(code)
            if booking is None:
                continue
            if booking.status == BookingStatus.BOOKED:
                active.append(booking)
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.srem(self.slot_key(booking.slot), code)
                pipe.srem(self.day_key(booking.location, booking.day), code)
                pipe.delete(self.booking_key(code), self.reminded_key(code))
                await pipe.execute()
        await self.redis.delete(self.user_key(conversation), self.held_key(conversation))
        return active
