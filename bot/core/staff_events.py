"""Staff events: what the coach panel shows live and what e-mail notifications react to, in one
Redis stream shared by every gateway and worker process.

A stream rather than pub/sub: a panel that reconnects asks for what came after its last event
id and misses nothing, and the notifier reads through a consumer group, so a worker that dies
while mailing leaves the event pending for the next one. An event carries a kind, the team or
location it concerns, and ids and counts only, never a name or a word anyone wrote: the panel
fetches details through the API, which checks who may see them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from redis.exceptions import ResponseError

from bot.core.keys import Erasure, Keys, Owner, declare
from bot.core.redis_types import StrRedis

LEAD_WAITING, LEAD_CLAIMED, LEAD_MESSAGE, LEAD_CLOSED = (
    "lead_waiting", "lead_claimed", "lead_message", "lead_closed")
BOOKING_CREATED, BOOKING_CANCELLED = "booking_created", "booking_cancelled"
KINDS = (LEAD_WAITING, LEAD_CLAIMED, LEAD_MESSAGE, LEAD_CLOSED, BOOKING_CREATED,
         BOOKING_CANCELLED)
MAX_EVENTS = 10_000  # the stream is trimmed to about this many (days of events for a city)

STAFF_EVENTS = declare("staff-events", owner=Owner.SYSTEM,
                       expiry=f"trimmed to about {MAX_EVENTS} entries",
                       erasure=Erasure.NOT_PERSONAL,
                       note="kinds, team/location ids, lead ids and counts only")


@dataclass(frozen=True)
class StaffEvent:
    id: str                # the stream id: also the SSE event id a panel resumes from
    kind: str
    team: str = ""         # lead events
    location: str = ""     # booking events
    data: dict[str, str] = field(default_factory=dict)  # ids and counts

    @classmethod
    def from_entry(cls, entry_id: str, fields: dict[str, str]) -> StaffEvent:
        fields = dict(fields)
        return cls(entry_id, fields.pop("kind", ""), fields.pop("team", ""),
                   fields.pop("location", ""), fields)

    def to_json(self) -> dict[str, str | None]:
        return {"kind": self.kind, "team": self.team or None,
                "location": self.location or None, **self.data}


class StaffEvents:
    def __init__(self, *, redis: StrRedis, keys: Keys) -> None:
        self.redis = redis
        self.key = keys(STAFF_EVENTS)

    async def publish(self, kind: str, *, team: str = "", location: str = "",
                      **data: str | int) -> str:
        if kind not in KINDS:
            raise ValueError(f"unknown staff event {kind!r}")
        fields = {"kind": kind, "team": team, "location": location,
                  **{name: str(value) for name, value in data.items()}}
        return str(await self.redis.xadd(self.key, fields, maxlen=MAX_EVENTS,
                                          approximate=True))

    async def latest_id(self) -> str:
        """The id of the newest event ("0-0" when there is none): read after it for new ones."""
        newest = await self.redis.xrevrange(self.key, count=1)
        return str(newest[0][0]) if newest else "0-0"

    async def after(self, last_id: str, *, block_ms: int | None = None,
                    count: int = 200) -> list[StaffEvent]:
        """Events after `last_id`, waiting up to `block_ms` for one when there is none."""
        answer = await self.redis.xread({self.key: last_id}, count=count, block=block_ms)
        return [StaffEvent.from_entry(entry_id, fields)
                for _, entries in answer or [] for entry_id, fields in entries]

    # ------------------------------------------------------------ consumer groups (the worker)
    async def ensure_group(self, group: str) -> None:
        """A consumer group that starts with the events from now on."""
        try:
            await self.redis.xgroup_create(self.key, group, id="$", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def take(self, group: str, consumer: str, *, block_ms: int,
                   count: int = 50) -> list[StaffEvent]:
        """This consumer's pending events first (a crash left them unacknowledged), then new."""
        pending = await self.redis.xreadgroup(group, consumer, {self.key: "0"}, count=count)
        entries = [e for _, found in pending or [] for e in found if e[1]]
        if not entries:
            fresh = await self.redis.xreadgroup(group, consumer, {self.key: ">"}, count=count,
                                                block=block_ms)
            entries = [e for _, found in fresh or [] for e in found]
        return [StaffEvent.from_entry(entry_id, fields) for entry_id, fields in entries]

    async def ack(self, group: str, *event_ids: str) -> None:
        if event_ids:
            await self.redis.xack(self.key, group, *event_ids)
