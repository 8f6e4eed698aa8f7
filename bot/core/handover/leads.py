"""Warm leads in Redis: a stream per team with one consumer group, and a hash per lead.

A new lead is added to its team's stream and at once read into the group by the consumer
`queue`, so every waiting lead is a pending entry. Claiming moves the entry to the coach's
consumer (XCLAIM) inside a Lua script that also checks the lead's state: when several coaches
claim at once exactly one wins. Closing acknowledges the entry (XACK). A claim that is not
closed in time is handed back to `queue` by XAUTOCLAIM (the worker's SLA monitor), so a coach
whose browser or process died does not lose the lead.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import TypedDict, cast

from redis.exceptions import ResponseError

from bot.core.access.data import HANDOVER, SPEAKERS, Record, Section, Value, iso
from bot.core.clock import Clock
from bot.core.keys import CONV_LEADS, CONV_OPEN_LEAD, LEAD, LEAD_MESSAGES, LEAD_STREAM, Keys
from bot.core.redis_types import StrRedis
from bot.core.staff_events import (
    LEAD_CLAIMED,
    LEAD_CLOSED,
    LEAD_MESSAGE,
    LEAD_WAITING,
    StaffEvents,
)

GROUP = "coaches"
QUEUE_CONSUMER = "queue"
OUTCOMES = ("contacted", "enrolled", "booked", "unreachable", "not_relevant")
TOMBSTONE_SECONDS = 24 * 3600
MAX_MESSAGES = 500  # a lead's message list keeps the latest 500


class LeadStatus(StrEnum):
    """A lead's `status` field (the Lua scripts below write the same words)."""

    WAITING = "waiting"
    CLAIMED = "claimed"
    CLOSED = "closed"
    ERASED = "erased"


OPEN_STATUSES = (LeadStatus.WAITING, LeadStatus.CLAIMED)


class CreateResult(StrEnum):
    CREATED = "created"
    UPDATED = "updated"


class ClaimResult(StrEnum):
    """What CLAIM returns."""

    MISSING = "missing"
    CLOSED = "closed"
    MINE = "mine"
    TAKEN = "taken"
    CLAIMED = "claimed"
    CLAIMED_FIRST = "claimed_first"


class CloseResult(StrEnum):
    """What CLOSE returns."""

    NOT_CLAIMED = "not_claimed"
    NOT_YOURS = "not_yours"
    CLOSED = "closed"

# KEYS: lead, stream, user's open lead, user's lead set. ARGV: id, fields (json), group
CREATE = """
local open = redis.call('GET', KEYS[3])
if open then
  local lead = string.gsub(KEYS[1], '[^:]+$', open)
  local status = redis.call('HGET', lead, 'status')
  if status == 'waiting' or status == 'claimed' then
    local fields = cjson.decode(ARGV[2])
    for k, v in pairs(fields) do redis.call('HSET', lead, k, v) end
    return {'updated', open}
  end
end
local fields = cjson.decode(ARGV[2])
for k, v in pairs(fields) do redis.call('HSET', KEYS[1], k, v) end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'status', 'waiting')
local sid = redis.call('XADD', KEYS[2], '*', 'lead', ARGV[1])
redis.pcall('XGROUP', 'CREATE', KEYS[2], ARGV[3], '0')
redis.call('XREADGROUP', 'GROUP', ARGV[3], 'queue', 'COUNT', 1000, 'STREAMS', KEYS[2], '>')
redis.call('HSET', KEYS[1], 'stream_id', sid)
redis.call('SET', KEYS[3], ARGV[1])
redis.call('SADD', KEYS[4], ARGV[1])
return {'created', ARGV[1]}
"""

# KEYS: lead, stream. ARGV: coach, now, claim timeout (s), group
CLAIM = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 'missing' end
if status == 'closed' or status == 'erased' then return 'closed' end
if status == 'claimed' then
  if redis.call('HGET', KEYS[1], 'coach') == ARGV[1] then return 'mine' end
  local at = tonumber(redis.call('HGET', KEYS[1], 'claimed_at'))
  if tonumber(ARGV[2]) - at < tonumber(ARGV[3]) then return 'taken' end
end
local sid = redis.call('HGET', KEYS[1], 'stream_id')
redis.call('XCLAIM', KEYS[2], ARGV[4], ARGV[1], 0, sid, 'JUSTID')
redis.call('HSET', KEYS[1], 'status', 'claimed', 'coach', ARGV[1], 'claimed_at', ARGV[2])
if redis.call('HEXISTS', KEYS[1], 'first_claimed_at') == 0 then
  redis.call('HSET', KEYS[1], 'first_claimed_at', ARGV[2])
  return 'claimed_first'
end
return 'claimed'
"""

# KEYS: lead, stream, user's open lead. ARGV: coach, outcome, now, group
CLOSE = """
if redis.call('HGET', KEYS[1], 'status') ~= 'claimed' then return 'not_claimed' end
if redis.call('HGET', KEYS[1], 'coach') ~= ARGV[1] then return 'not_yours' end
redis.call('XACK', KEYS[2], ARGV[4], redis.call('HGET', KEYS[1], 'stream_id'))
redis.call('HSET', KEYS[1], 'status', 'closed', 'outcome', ARGV[2], 'closed_at', ARGV[3])
if redis.call('GET', KEYS[3]) == redis.call('HGET', KEYS[1], 'id') then
  redis.call('DEL', KEYS[3])
end
return 'closed'
"""


# One message of a lead's conversation with its coach ("from" is a keyword, hence this form).
LeadMessage = TypedDict("LeadMessage", {"t": float, "from": str, "name": str, "text": str})


@dataclass(frozen=True)
class Lead:
    id: str
    team: str
    conversation: str
    status: str
    fields: dict[str, str]

    @property
    def created(self) -> float:
        return float(self.fields.get("created", 0))

    def waiting_seconds(self, now: float) -> int:
        return max(0, int(now - self.created))


class LeadStore:
    def __init__(self, *, redis: StrRedis, keys: Keys, clock: Clock, retention_seconds: int,
                 events: StaffEvents | None = None) -> None:
        self.redis = redis
        self.keys = keys
        self.clock = clock
        self.retention = retention_seconds
        self._create = redis.register_script(CREATE)
        self._claim = redis.register_script(CLAIM)
        self._close = redis.register_script(CLOSE)
        self.events = events  # where the staff panel and notifications learn of changes

    def _now(self) -> float:
        return self.clock().timestamp()

    async def _tell(self, kind: str, team: str, lead_id: str) -> None:
        if self.events is not None:
            await self.events.publish(kind, team=team, lead=lead_id)

    def lead_key(self, lead_id: str) -> str:
        return self.keys(LEAD, lead=lead_id)

    def messages_key(self, lead_id: str) -> str:
        return self.keys(LEAD_MESSAGES, lead=lead_id)

    def stream_key(self, team: str) -> str:
        return self.keys(LEAD_STREAM, team=team)

    def open_key(self, conversation: str) -> str:
        return self.keys(CONV_OPEN_LEAD, conversation=conversation)

    def all_key(self, conversation: str) -> str:
        return self.keys(CONV_LEADS, conversation=conversation)

    async def create(self, conversation: str, team: str,
                     fields: dict[str, str]) -> tuple[CreateResult, str]:
        """('created' | 'updated', lead id). A person has at most one open lead."""
        lead_id = secrets.token_hex(6)
        payload = {**fields, "team": team, "conversation": conversation,
                   "created": str(self._now())}
        status, found = await self._create(
            keys=[self.lead_key(lead_id), self.stream_key(team), self.open_key(conversation),
                  self.all_key(conversation)],
            args=[lead_id, json.dumps(payload), GROUP])
        for key in (self.lead_key(found), self.open_key(conversation), self.all_key(conversation)):
            await self.redis.expire(key, self.retention)
        result = CreateResult(status)
        if result is CreateResult.CREATED:
            await self._tell(LEAD_WAITING, team, str(found))
        return result, str(found)

    async def get(self, lead_id: str) -> Lead | None:
        if not lead_id or not lead_id.isalnum():
            return None
        data = await self.redis.hgetall(self.lead_key(lead_id))
        if not data or "team" not in data:
            return None
        return Lead(id=data["id"], team=data["team"], conversation=data["conversation"],
                    status=data["status"], fields=data)

    async def open_for(self, conversation: str) -> Lead | None:
        lead_id = await self.redis.get(self.open_key(conversation))
        lead = await self.get(lead_id) if lead_id else None
        return lead if lead and lead.status in OPEN_STATUSES else None

    async def claim(self, lead: Lead, coach: str, claim_timeout: int) -> ClaimResult:
        result = ClaimResult(await self._claim(keys=[self.lead_key(lead.id),
                                                     self.stream_key(lead.team)],
                                               args=[coach, self._now(), claim_timeout, GROUP]))
        if result in (ClaimResult.CLAIMED, ClaimResult.CLAIMED_FIRST):
            await self._tell(LEAD_CLAIMED, lead.team, lead.id)
        return result

    async def close(self, lead: Lead, coach: str, outcome: str) -> CloseResult:
        result = CloseResult(await self._close(
            keys=[self.lead_key(lead.id), self.stream_key(lead.team),
                  self.open_key(lead.conversation)],
            args=[coach, outcome, self._now(), GROUP]))
        if result is CloseResult.CLOSED:
            await self._tell(LEAD_CLOSED, lead.team, lead.id)
        return result

    async def touch(self, lead: Lead, coach: str) -> None:
        """A coach working on a lead keeps the claim alive (resets the entry's idle time)."""
        await self.redis.hset(self.lead_key(lead.id), "claimed_at", str(self._now()))
        await self.redis.xclaim(self.stream_key(lead.team), GROUP, coach, 0,
                                [lead.fields["stream_id"]], justid=True)

    async def add_message(self, lead_id: str, sender: str, text: str, name: str = "") -> None:
        message: LeadMessage = {"t": round(self._now(), 3), "from": sender, "name": name,
                                "text": text}
        entry = json.dumps(message, ensure_ascii=False)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(self.messages_key(lead_id), entry)
            pipe.ltrim(self.messages_key(lead_id), -MAX_MESSAGES, -1)
            pipe.expire(self.messages_key(lead_id), self.retention)
            await pipe.execute()
        team = await self.redis.hget(self.lead_key(lead_id), "team")
        if team:
            await self._tell(LEAD_MESSAGE, team, lead_id)

    async def messages(self, lead_id: str) -> list[LeadMessage]:
        """The lead's messages, oldest first (JSON written by `add_message`)."""
        raw = await self.redis.lrange(self.messages_key(lead_id), 0, -1)
        return [cast(LeadMessage, json.loads(m)) for m in raw]

    async def set_fields(self, lead_id: str, **fields: str) -> None:
        await self.redis.hset(self.lead_key(lead_id), mapping=fields)

    async def team_leads(self, team: str) -> list[Lead]:
        """The team's open leads (waiting or claimed): the pending entries of its stream."""
        stream = self.stream_key(team)
        try:
            pending = await self.redis.xpending_range(stream, GROUP, "-", "+", 500)
        except ResponseError:  # no stream or group yet: no leads
            return []
        leads = []
        for entry in pending:
            found = await self.redis.xrange(stream, entry["message_id"], entry["message_id"])
            if found:
                lead = await self.get(found[0][1]["lead"])
                if lead is not None and lead.status != LeadStatus.CLOSED:
                    leads.append(lead)
        return sorted(leads, key=lambda lead: lead.created)

    async def release_expired(self, team: str, claim_timeout: int) -> int:
        """Hand claims older than `claim_timeout` back to the queue; returns how many."""
        stream = self.stream_key(team)
        try:
            # With JUSTID, redis-py returns just the list of ids moved back to `queue`.
            message_ids = await self.redis.xautoclaim(stream, GROUP, QUEUE_CONSUMER,
                                                      claim_timeout * 1000, "0-0", count=200,
                                                      justid=True)
        except ResponseError:
            return 0
        released = 0
        for message_id in message_ids:
            found = await self.redis.xrange(stream, message_id, message_id)
            lead = await self.get(found[0][1]["lead"]) if found else None
            if lead and lead.status == LeadStatus.CLAIMED:
                await self.set_fields(lead.id, status=LeadStatus.WAITING, coach="")
                await self._tell(LEAD_WAITING, team, lead.id)
                released += 1
        return released

    async def export(self, conversation: str) -> Section:
        """This person's requests to talk to a coach, for a copy of their data: the team (an
        id; the copy names it), the status, what they told the bot for it, their consent and
        the messages (theirs, the bot's and the coach's, with the name the coach showed them).
        No lead id, no coach username, no outcome a coach noted. Kept until the retention
        period after the request was made or after its last message, whichever is later."""
        items: list[Record] = []
        latest = 0.0
        for lead_id in sorted(await self.redis.smembers(self.all_key(conversation))):
            lead = await self.get(lead_id)
            if lead is None or lead.conversation != conversation:
                continue  # expired, or a tombstone left by erasure
            said = [m for m in await self.messages(lead.id) if m["from"] in SPEAKERS]
            latest = max([latest, lead.created, *(float(m["t"]) for m in said)])
            fields = lead.fields
            consent: dict[str, Value] = {
                "given_at": iso(float(fields["consent_at"])) if fields.get("consent_at")
                else None, "version": fields.get("consent_version") or None,
                "channel": fields.get("consent_channel") or None,
                "language": fields.get("consent_language") or None,
                "text_sha256": fields.get("consent_text_sha256") or None}
            messages: list[Value] = [
                {"at": iso(float(m["t"])), "from": SPEAKERS[m["from"]],
                 "name": m.get("name") or None if m["from"] == "coach" else None,
                 "text": m["text"]} for m in said]
            items.append({
                "team": lead.team, "status": lead.status,
                "you_ended": bool(fields.get("user_left")), "created": iso(lead.created),
                **{name: fields.get(name) or None for name in (
                    "name", "contact", "phone", "district", "age_group", "topic", "language")},
                "consent": consent, "messages": messages})
        items.sort(key=lambda item: str(item["created"]))
        return Section(HANDOVER, items, latest + self.retention if items else None)

    async def erase_user(self, conversation: str) -> int:
        """Delete every lead of this person with its messages and stream entry (XDEL). An open
        lead leaves a tombstone without personal data for a day, so the coach who has it sees
        that the person left and erased their data."""
        lead_ids = await self.redis.smembers(self.all_key(conversation))
        now = str(self._now())
        for lead_id in lead_ids:
            lead = await self.get(lead_id)
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.delete(self.lead_key(lead_id), self.messages_key(lead_id))
                if lead is not None and lead.fields.get("stream_id"):
                    stream = self.stream_key(lead.team)
                    pipe.xack(stream, GROUP, lead.fields["stream_id"])
                    pipe.xdel(stream, lead.fields["stream_id"])
                if lead is not None and lead.status in OPEN_STATUSES:
                    pipe.hset(self.lead_key(lead_id), mapping={
                        "id": lead_id, "team": lead.team, "conversation": "",
                        "status": LeadStatus.ERASED, "created": lead.fields.get("created", now),
                        "coach": lead.fields.get("coach", ""), "user_left": now,
                        "erased": now})
                    pipe.expire(self.lead_key(lead_id), TOMBSTONE_SECONDS)
                await pipe.execute()
        await self.redis.delete(self.open_key(conversation), self.all_key(conversation))
        return len(lead_ids)

    async def prune(self, team: str) -> int:
        """Keep the team's stream short and true: entries older than the retention period go
        (MINID), and a pending entry whose lead has expired is acknowledged and deleted, so old
        junk never hides new leads. Returns how many entries were removed."""
        stream = self.stream_key(team)
        # Entry ids are Redis's own timestamps, so the cut-off is reckoned on Redis's clock.
        seconds, _ = await self.redis.time()
        oldest = f"{int((seconds - self.retention) * 1000)}-0"
        try:
            removed = int(await self.redis.xtrim(stream, minid=oldest, approximate=False))
            pending = await self.redis.xpending_range(stream, GROUP, "-", "+", 1000)
        except ResponseError:  # no stream or group yet
            return 0
        gone = []
        for entry in pending:
            found = await self.redis.xrange(stream, entry["message_id"], entry["message_id"])
            lead_id = found[0][1].get("lead") if found else None
            if not lead_id or not await self.redis.exists(self.lead_key(lead_id)):
                gone.append(entry["message_id"])
        if gone:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.xack(stream, GROUP, *gone)
                pipe.xdel(stream, *gone)
                await pipe.execute()
        return removed + len(gone)
