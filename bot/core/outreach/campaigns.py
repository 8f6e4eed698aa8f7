"""Campaigns in Redis: the definition and status, each recipient's state, and the counters.

Each recipient of a sent campaign has a state in one hash (`queued` -> `sending@<time>` ->
`sent` | `failed`, or `queued` -> `skipped`). Every change goes through one Lua script that
moves the state only from the states the caller names and counts the final ones in the same
step, so a job that runs twice (its worker died) neither sends nor counts twice: the state is
the marker. `sending` is written just before the provider is called: a job that finds it
knows its worker died during that call (see bot/core/outreach/sending.py).
`delivered`, `undelivered` (providers' delivery reports) and `replies` are counted beside the
states.

The campaign itself (texts, audience, counts) names nobody and is kept; the recipient hash
names conversations, expires after the retention period and is cleaned by erasure. Two small
per-person keys: the campaign ids a person got today (the daily limit) and the campaigns they
got in the last seven days (so a reply counts for the campaign).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypedDict

from bot.core.access.data import CAMPAIGNS as CAMPAIGNS_GROUP
from bot.core.access.data import Record, Section, iso
from bot.core.keys import Erasure, Keys, Owner, declare
from bot.core.outreach.subscriptions import Audience
from bot.core.redis_types import StrPipeline, StrRedis
from bot.core.stats.counters import Cell
from bot.core.stats.recorder import StatsRecorder


class CampaignStatus(StrEnum):
    """A campaign's `status` field (SET_STATUS writes the same words). DONE is never stored:
    a sending campaign with nothing left queued reads as done (CampaignService.status_of)."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


class RecipientState(StrEnum):
    """A recipient's state in the recipients hash (TRANSITION writes and counts the same
    words; SENDING is stored as `sending@<unix time>`)."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


OPEN = (RecipientState.QUEUED, RecipientState.FAILED)  # a job may (still) send to these
REPLY_DAYS = 7          # a message from a recipient within this many days counts as a reply
DEEP_LINK = "c-"        # a campaign link's start parameter: "c-<campaign id>"
DAY = 24 * 3600
# Campaign events that the daily statistics count too (the counter names: PRODUCT.md §8).
STATS_OF_EVENT = {"delivered": "campaign_delivered", "replies": "campaign_replied"}

CAMPAIGNS = declare("campaigns", owner=Owner.SYSTEM, expiry="none (campaign ids)",
                    erasure=Erasure.NOT_PERSONAL, note="campaign ids scored by creation time")
CAMPAIGN = declare("campaign:{campaign}", owner=Owner.SYSTEM, expiry="none",
                   erasure=Erasure.NOT_PERSONAL,
                   note="name, audience, texts, status and times of one campaign")
CAMPAIGN_COUNTS = declare("campaign:{campaign}:counts", owner=Owner.SYSTEM, expiry="none",
                          erasure=Erasure.NOT_PERSONAL,
                          note="numbers only: recipients, sent, delivered, ... (per channel)")
CAMPAIGN_RECIPIENTS = declare("campaign:{campaign}:recipients", owner=Owner.SYSTEM,
                              expiry="the retention period after its last change",
                              erasure=Erasure.BY_OWNER,
                              note="conversation -> state; the campaign eraser removes a "
                                   "person's field")
CAMPAIGN_DAY = declare("outreach:day:{conversation}:{day}", owner=Owner.CONVERSATION,
                       expiry="2 days", erasure=Erasure.WITH_CONVERSATION,
                       note="campaign ids a person got that day (the daily limit)")
CAMPAIGN_RECENT = declare("outreach:recent:{conversation}", owner=Owner.CONVERSATION,
                          expiry=f"{REPLY_DAYS} days after the last campaign message",
                          erasure=Erasure.WITH_CONVERSATION,
                          note="campaign id -> when it was sent; r:<id> once a reply counted")

# KEYS: recipients, counts. ARGV: conversation, to, reason, channel, ttl, from (comma-separated).
# Moves a recipient from one of `from` to `to` (a state, or `sending@<time>`) and counts the final
# states; else returns the state it is in.
TRANSITION = """
local current = redis.call('HGET', KEYS[1], ARGV[1])
local state = current and string.match(current, '^[a-z]+') or ''
local allowed = false
for name in string.gmatch(ARGV[6], '[^,]+') do
  if name == state then allowed = true end
end
if not allowed then return state end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[5]))
if state == 'failed' then
  redis.call('HINCRBY', KEYS[2], 'failed', -1)
  redis.call('HINCRBY', KEYS[2], 'failed@' .. ARGV[4], -1)
end
local to = string.match(ARGV[2], '^[a-z]+')
if to == 'sent' or to == 'failed' or to == 'skipped' then
  redis.call('HINCRBY', KEYS[2], to, 1)
  redis.call('HINCRBY', KEYS[2], to .. '@' .. ARGV[4], 1)
  if ARGV[3] ~= '' then redis.call('HINCRBY', KEYS[2], to .. ':' .. ARGV[3], 1) end
end
return 'ok'
"""
# KEYS: the person's day set. ARGV: campaign, max per day, ttl. 1: this campaign may go.
CLAIM_DAY = """
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 1 end
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
"""
# KEYS: campaign. ARGV: to, from... Returns the status before (changed if it was a `from`).
SET_STATUS = """
local current = redis.call('HGET', KEYS[1], 'status')
if not current then return '' end
for i = 2, #ARGV do
  if current == ARGV[i] then redis.call('HSET', KEYS[1], 'status', ARGV[1]) return current end
end
return current
"""


class Preview(TypedDict, total=False):
    """Who would get what, worked out when the campaign was created (CampaignService.preview);
    empty for a campaign that was never previewed."""

    recipients: int
    by_channel: dict[str, int]
    by_language: dict[str, int]  # by the language of the text they get
    segments: int                # paid segments (SMS) in all
    missing_languages: list[str]  # subscribers' languages without a text
    # channel -> language of the text -> recipients skipped: the channel has no template for
    # it (WhatsApp); absent from previews made before WhatsApp carried campaigns
    missing_templates: dict[str, dict[str, int]]
    skipped: int
    skipped_reasons: dict[str, int]


@dataclass(frozen=True)
class Campaign:
    id: str
    name: str
    audience: Audience
    texts: dict[str, str]
    fallback: str | None
    send_at: float | None
    created_at: float
    status: CampaignStatus = CampaignStatus.DRAFT
    preview: Preview = field(default_factory=Preview)
    started_at: float | None = None  # the start job began resolving the audience
    queued_at: float | None = None   # ... and had queued all of it

    def text_for(self, language: str) -> tuple[str, str] | None:
        """(language, text) a subscriber in `language` gets: their own, else the fallback."""
        if language in self.texts:
            return language, self.texts[language]
        if self.fallback:
            return self.fallback, self.texts[self.fallback]
        return None

    def to_hash(self) -> dict[str, str]:
        a = self.audience
        return {"name": self.name, "status": self.status, "created_at": repr(self.created_at),
                "audience": json.dumps({"topics": a.topics, "districts": a.districts,
                                        "channels": a.channels, "languages": a.languages}),
                "texts": json.dumps(self.texts, ensure_ascii=False),
                "fallback": self.fallback or "",
                "send_at": _number(self.send_at),
                "preview": json.dumps(self.preview),
                "started_at": _number(self.started_at), "queued_at": _number(self.queued_at)}

    @classmethod
    def from_hash(cls, campaign_id: str, values: dict[str, str]) -> Campaign:
        audience = json.loads(values["audience"])
        return cls(id=campaign_id, name=values["name"],
                   audience=Audience(**{k: tuple(v) for k, v in audience.items()}),
                   texts=json.loads(values["texts"]), fallback=values.get("fallback") or None,
                   send_at=_float(values.get("send_at")),
                   created_at=float(values["created_at"]),
                   status=CampaignStatus(values["status"]),
                   preview=json.loads(values.get("preview") or "{}"),
                   started_at=_float(values.get("started_at")),
                   queued_at=_float(values.get("queued_at")))


def _number(value: float | None) -> str:
    return "" if value is None else repr(value)


def _float(text: str | None) -> float | None:
    return float(text) if text else None


@dataclass(frozen=True)
class Progress:
    """Where a campaign's recipients are. `failed` counts sends given up and messages a
    provider reported undeliverable; `queued` is what still waits (also for quiet hours, and
    the message being sent right now)."""

    recipients: int
    queued: int
    sent: int
    delivered: int
    failed: int
    skipped: int
    replies: int
    skipped_reasons: dict[str, int]
    by_channel: dict[str, dict[str, int]]
    in_doubt: int = 0  # counted as sent: the worker died while the provider had the message

    @classmethod
    def from_counts(cls, counts: dict[str, int]) -> Progress:
        sent, failed, skipped = RecipientState.SENT, RecipientState.FAILED, RecipientState.SKIPPED

        def queued(suffix: str = "") -> int:
            return max(0, counts.get(f"recipients{suffix}", 0) - sum(
                counts.get(f"{state}{suffix}", 0) for state in (sent, failed, skipped)))

        channels = sorted({name.split("@", 1)[1] for name in counts if "@" in name})
        by_channel = {ch: {"recipients": counts.get(f"recipients@{ch}", 0),
                           "queued": queued(f"@{ch}"), "sent": counts.get(f"sent@{ch}", 0),
                           "delivered": counts.get(f"delivered@{ch}", 0),
                           "failed": counts.get(f"failed@{ch}", 0)
                           + counts.get(f"undelivered@{ch}", 0),
                           "skipped": counts.get(f"skipped@{ch}", 0),
                           "replies": counts.get(f"replies@{ch}", 0)} for ch in channels}
        reasons = {name.split(":", 1)[1]: n for name, n in counts.items()
                   if name.startswith("skipped:") and n}
        return cls(recipients=counts.get("recipients", 0), queued=queued(),
                   sent=counts.get(sent, 0), delivered=counts.get("delivered", 0),
                   failed=counts.get(failed, 0) + counts.get("undelivered", 0),
                   skipped=counts.get(skipped, 0), replies=counts.get("replies", 0),
                   skipped_reasons=reasons, by_channel=by_channel,
                   in_doubt=counts.get("sent:in_doubt", 0))


class CampaignStore:
    def __init__(self, *, redis: StrRedis, keys: Keys,
                 recipients_seconds: int = 30 * DAY, stats: StatsRecorder | None = None) -> None:
        self.redis = redis
        self.keys = keys
        self.recipients_seconds = recipients_seconds
        self.stats = stats
        self._transition = redis.register_script(TRANSITION)
        self._claim_day = redis.register_script(CLAIM_DAY)
        self._set_status = redis.register_script(SET_STATUS)

    def _key(self, campaign_id: str) -> str:
        return self.keys(CAMPAIGN, campaign=campaign_id)

    def _counts(self, campaign_id: str) -> str:
        return self.keys(CAMPAIGN_COUNTS, campaign=campaign_id)

    def recipients_key(self, campaign_id: str) -> str:
        return self.keys(CAMPAIGN_RECIPIENTS, campaign=campaign_id)

    # ------------------------------------------------------------------ campaigns
    async def create(self, campaign: Campaign) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._key(campaign.id), mapping=campaign.to_hash())
            pipe.zadd(self.keys(CAMPAIGNS), {campaign.id: campaign.created_at})
            await pipe.execute()

    async def get(self, campaign_id: str) -> Campaign | None:
        values = await self.redis.hgetall(self._key(campaign_id))
        return Campaign.from_hash(campaign_id, values) if values else None

    async def ids(self) -> list[str]:
        """Every campaign id, newest first."""
        return list(await self.redis.zrevrange(self.keys(CAMPAIGNS), 0, -1))

    async def set_status(self, campaign_id: str, to: CampaignStatus,
                         *before: CampaignStatus) -> CampaignStatus | None:
        """Move the status to `to` if it is one of `before`; returns the status it had (None:
        no such campaign)."""
        had = str(await self._set_status(keys=[self._key(campaign_id)], args=[to, *before]))
        return CampaignStatus(had) if had else None

    async def update(self, campaign_id: str, **values: str) -> None:
        await self.redis.hset(self._key(campaign_id), mapping=values)

    # ------------------------------------------------------------------ recipients
    async def states(self, campaign_id: str, conversations: list[str]) -> list[str | None]:
        if not conversations:
            return []
        return list(await self.redis.hmget(self.recipients_key(campaign_id), conversations))

    async def state(self, campaign_id: str,
                    conversation: str) -> tuple[RecipientState | None, float]:
        """The recipient's state, and for `sending` since when (unix time)."""
        raw = await self.redis.hget(self.recipients_key(campaign_id), conversation)
        if raw is None:
            return None, 0.0
        state, _, since = raw.partition("@")
        return RecipientState(state), float(since or 0)

    def queue_on(self, pipe: StrPipeline, campaign_id: str,
                 conversations: Iterable[str]) -> None:
        """Mark recipients queued, in the transaction that schedules their jobs."""
        key = self.recipients_key(campaign_id)
        for conversation in conversations:
            pipe.hsetnx(key, conversation, RecipientState.QUEUED)
        pipe.expire(key, self.recipients_seconds)

    async def count_recipients(self, campaign_id: str) -> int:
        """Count the queued recipients (in all and per channel) once the audience is queued."""
        conversations = await self.redis.hkeys(self.recipients_key(campaign_id))
        per_channel: dict[str, int] = {}
        for conversation in conversations:
            channel = conversation.split(":", 1)[0]
            per_channel[channel] = per_channel.get(channel, 0) + 1
        await self.redis.hset(self._counts(campaign_id), mapping={
            "recipients": len(conversations),
            **{f"recipients@{ch}": n for ch, n in per_channel.items()}})
        return len(conversations)

    async def move(self, campaign_id: str, conversation: str, to: RecipientState,
                   reason: str = "", before: Iterable[RecipientState] = OPEN,
                   since: float | None = None) -> bool:
        """Move a recipient in one of the states `before` to `to` (`since`: the time stored
        with SENDING); False if it was not there (done already, or another job has it)."""
        channel = conversation.split(":", 1)[0]
        marker = to if since is None else f"{to}@{since!r}"
        result = await self._transition(
            keys=[self.recipients_key(campaign_id), self._counts(campaign_id)],
            args=[conversation, marker, reason, channel, self.recipients_seconds,
                  ",".join(before)])
        return str(result) == "ok"  # else the state it was in

    async def begin_send(self, campaign_id: str, conversation: str, now: float) -> bool:
        """Mark the recipient's message as going to the provider now (from queued or failed);
        False if it is not open. A job that later finds this mark lost its worker mid-send."""
        return await self.move(campaign_id, conversation, RecipientState.SENDING, since=now)

    async def queued(self, campaign_id: str) -> list[str]:
        """The conversations still queued (for cancelling)."""
        found = await self.redis.hgetall(self.recipients_key(campaign_id))
        return [conversation for conversation, state in found.items()
                if state == RecipientState.QUEUED]

    async def counts(self, campaign_id: str) -> dict[str, int]:
        raw = await self.redis.hgetall(self._counts(campaign_id))
        return {name: int(value) for name, value in raw.items()}

    async def progress(self, campaign_id: str) -> Progress:
        return Progress.from_counts(await self.counts(campaign_id))

    async def count(self, campaign_id: str, name: str, channel: str, language: str = "") -> None:
        """Count an event beside the states (delivered, undelivered, replies), and in the daily
        statistics (`language` where the caller knows it: a provider's delivery report does
        not say it)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(self._counts(campaign_id), name, 1)
            pipe.hincrby(self._counts(campaign_id), f"{name}@{channel}", 1)
            await pipe.execute()
        if name in STATS_OF_EVENT:
            await self.tally(STATS_OF_EVENT[name], channel, language)

    async def tally(self, counter: str, channel: str, language: str) -> None:
        """Add to a campaign counter of the daily statistics (no campaign or person in it)."""
        if self.stats is not None:
            await self.stats.add(counter, Cell(channel, language))

    # ------------------------------------------------------------------ per person
    async def claim_day(self, conversation: str, day: str, campaign_id: str,
                        max_per_day: int) -> bool:
        """Whether `campaign_id` may reach the person on `day` (at most `max_per_day`
        campaigns a day; asking again for the same campaign says yes again)."""
        key = self.keys(CAMPAIGN_DAY, conversation=conversation, day=day)
        return bool(await self._claim_day(keys=[key], args=[campaign_id, max_per_day, 2 * DAY]))

    async def mark_recent(self, conversation: str, campaign_id: str, now: float,
                          language: str = "") -> None:
        key = self.keys(CAMPAIGN_RECENT, conversation=conversation)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, campaign_id, repr(now))
            if language:  # for the statistics' count of replies by language
                pipe.hset(key, f"lang:{campaign_id}", language)
            pipe.expire(key, REPLY_DAYS * DAY)
            await pipe.execute()

    async def record_reply(self, conversation: str, source: str | None, now: float) -> str | None:
        """Count a message from a person as the reply to the campaign they got in the last
        REPLY_DAYS days (the one its link names, else the latest), once per person and
        campaign. Returns the campaign id counted, if any."""
        key = self.keys(CAMPAIGN_RECENT, conversation=conversation)
        fields = await self.redis.hgetall(key)
        recent = {cid: float(at) for cid, at in fields.items()
                  if not cid.startswith(("r:", "lang:")) and float(at) >= now - REPLY_DAYS * DAY}
        if not recent:
            return None
        named = source[len(DEEP_LINK):] if source and source.startswith(DEEP_LINK) else None
        campaign_id = named if named in recent else max(recent, key=recent.__getitem__)
        if not await self.redis.hsetnx(key, f"r:{campaign_id}", "1"):
            return None
        await self.count(campaign_id, "replies", conversation.split(":", 1)[0],
                         fields.get(f"lang:{campaign_id}", ""))
        return campaign_id

    async def export(self, conversation: str) -> Section:
        """The campaign messages the person got in the last REPLY_DAYS days, for a copy of
        their data: when, in which language, the text they got and whether they replied (no
        campaign id or name: those are the city's). Kept REPLY_DAYS after the last one."""
        fields = await self.redis.hgetall(self.keys(CAMPAIGN_RECENT, conversation=conversation))
        sent = sorted((float(at), cid) for cid, at in fields.items()
                      if not cid.startswith(("r:", "lang:")))
        items: list[Record] = []
        for at, campaign_id in sent:
            language = fields.get(f"lang:{campaign_id}") or None
            campaign = await self.get(campaign_id)
            text = campaign.texts.get(language) if campaign is not None and language else None
            items.append({"sent_at": iso(at), "language": language, "text": text,
                          "replied": f"r:{campaign_id}" in fields})
        kept = sent[-1][0] + REPLY_DAYS * DAY if sent else None
        return Section(CAMPAIGNS_GROUP, items, kept)

    async def erase(self, conversation: str) -> None:
        """Erasure: the person leaves every campaign's recipients (a queued message of theirs
        counts as skipped; its job is removed with the person's jobs)."""
        for campaign_id in await self.ids():
            await self.move(campaign_id, conversation, RecipientState.SKIPPED, "erased",
                            before=(*OPEN, RecipientState.SENDING))
            await self.redis.hdel(self.recipients_key(campaign_id), conversation)
