"""Adding to the day's counters as things happen (never by scanning conversations later).

A day's counters are one Redis hash, `stats:day:<YYYY-MM-DD>` (the Stockholm date), its fields
`<counter>|<channel>|<language>|<topic>|<district>`: no conversation id, no address, no text.
Times to claim a lead go to a list per day (seconds and whether the team's SLA was kept, with
the same parts). Both are kept three years.

"Returning" means the same conversation wrote on an earlier day. The conversation's own state
remembers its last day (`ConversationState.stats_day`), so only a conversation's first message of
a day costs a round trip more; beyond the state's retention, a keyed hash of the conversation id
(`stats:seen:<hmac>`, bot/core/hashing.py) remembers the day for a year. The hash names nobody
and cannot be turned back into an address; erasure deletes it too.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from bot.core import batch
from bot.core.clock import Clock, system_clock, ttl_until
from bot.core.hashing import KeyedHash
from bot.core.keys import Erasure, Keys, Owner, declare
from bot.core.outreach.quiet_hours import STOCKHOLM
from bot.core.redis_types import Command, StrRedis
from bot.core.stats.counters import SEPARATOR, Cell

DAYS_KEPT = 3 * 365 + 1
SEEN_DAYS = 365

STATS_DAY = declare("stats:day:{day}", owner=Owner.SYSTEM, expiry="3 years after the day",
                    erasure=Erasure.NOT_PERSONAL,
                    note="counters by counter, channel, language, topic and district")
STATS_CLAIMS = declare("stats:claims:{day}", owner=Owner.SYSTEM, expiry="3 years after the day",
                       erasure=Erasure.NOT_PERSONAL,
                       note="seconds to claim a lead and whether the SLA was kept, no lead id")
STATS_SEEN = declare("stats:seen:{id}", owner=Owner.SYSTEM, expiry=f"{SEEN_DAYS} days",
                     erasure=Erasure.BY_OWNER,
                     note="the last day a conversation wrote, under a keyed hash of its id "
                          "(to count returning conversations); erasure computes the hash")


def day_of(instant: datetime) -> date:
    """The Stockholm date of an instant: the city's day, whatever the server's zone."""
    return instant.astimezone(STOCKHOLM).date()


class StatsRecorder:
    def __init__(self, *, redis: StrRedis, keys: Keys, hasher: KeyedHash,
                 clock: Clock = system_clock) -> None:
        self.redis = redis
        self.keys = keys
        self.hasher = hasher
        self.clock = clock

    def today(self) -> date:
        return day_of(self.clock())

    def _ttl(self, day: date) -> int:
        end = datetime.combine(day + timedelta(days=DAYS_KEPT), time(), STOCKHOLM)
        return ttl_until(end.timestamp(), self.clock)

    def writes(self, counter: str, cell: Cell, n: int = 1, day: date | None = None
               ) -> list[Command]:
        """The commands that add `n` to `counter` in `cell` on `day` (default: today), to send
        with other writes."""
        day = day or self.today()
        key = self.keys(STATS_DAY, day=day.isoformat())
        return [("HINCRBY", key, cell.field(counter), n), ("EXPIRE", key, self._ttl(day))]

    async def add(self, counter: str, cell: Cell, n: int = 1, day: date | None = None) -> None:
        await batch.run(self.redis, self.writes(counter, cell, n, day))

    async def add_many(self, counters: list[tuple[str, Cell]], day: date | None = None) -> None:
        await batch.run(self.redis, [command for counter, cell in counters
                                     for command in self.writes(counter, cell, 1, day)])

    async def claimed(self, cell: Cell, seconds: float, within_sla: bool,
                      day: date | None = None) -> None:
        """A lead claimed after `seconds`: counted, and its time kept for median and p90."""
        day = day or self.today()
        key = self.keys(STATS_CLAIMS, day=day.isoformat())
        entry = SEPARATOR.join((cell.channel, cell.language, cell.topic, cell.district,
                                str(max(0, round(seconds))), "1" if within_sla else "0"))
        await batch.run(self.redis, [*self.writes("handovers_claimed", cell, 1, day),
                                     ("RPUSH", key, entry), ("EXPIRE", key, self._ttl(day))])

    async def visit(self, conversation: str, cell: Cell, last_day: str | None
                    ) -> list[Command]:
        """The writes for a conversation's first message today: counted as a conversation, new
        or returning. `last_day` is the day its state remembers (None: no state, or expired;
        then the keyed hash decides)."""
        today = self.today()
        seen_key = self.keys(STATS_SEEN, id=await self.hasher.hexdigest(conversation))
        earlier = last_day
        if earlier is None:
            earlier = await self.redis.get(seen_key)
        returning = earlier is not None and earlier < today.isoformat()
        return [*self.writes("conversations", cell, 1, today),
                *self.writes("returning_conversations" if returning else "new_conversations",
                             cell, 1, today),
                ("SET", seen_key, today.isoformat(), "EX", SEEN_DAYS * 86400)]

    async def erase(self, conversation: str) -> None:
        """Forget the day a conversation last wrote (the counters name nobody and stay)."""
        await self.redis.delete(self.keys(STATS_SEEN,
                                          id=await self.hasher.hexdigest(conversation)))
