"""Conversation state and transcripts in Redis.

Every key lives under the configured prefix and expires after the retention period, so the
gateway keeps no state of its own (several processes can share one Redis) and nothing about a
person outlives the retention time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Any

from bot.core import batch, json_codec
from bot.core.access.data import MESSAGES, SPEAKERS, Record, Section, iso
from bot.core.clock import Clock
from bot.core.keys import CONV_RATE, CONV_STATE, CONV_TRANSCRIPT, REGISTRY, Erasure, Keys, Owner
from bot.core.redis_types import Command, StrRedis

TRANSCRIPT_LINES = 500  # a conversation's transcript keeps its latest 500 lines
RATE_WINDOW = 60        # seconds: the per-conversation message count's fixed window


@dataclass
class ConversationState:
    """What the dialogue engine remembers between two messages of one conversation."""

    language: str | None = None
    language_chosen: bool = False
    misunderstandings: int = 0
    menu: list[str] = field(default_factory=list)
    flow: str | None = None
    flow_data: dict[str, Any] = field(default_factory=dict)
    source: str | None = None
    last_intent: str | None = None
    handover_lead: str | None = None
    subscription_offered: bool = False  # "get notices about this" is offered once per chat
    language_offered: bool = False  # after Arabic in Latin letters: "another language?" once
    # The last question answered from NLU, redacted, and what answered it: kept until the next
    # answer so that "That didn't help" can put it in the review inbox.
    review_question: str | None = None
    review_answer: str | None = None
    # The statistics' days (bot/core/stats/recorder.py): the last day this conversation wrote,
    # and the last day the bot answered it (each counted once a day).
    stats_day: str | None = None
    stats_answered_day: str | None = None
    # The city's notices this conversation was sent with a reply (ids of live ones only; each
    # is sent once): all that a notice adds to the person's data (bot/core/notices/flow.py).
    notices_shown: list[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, raw: str | bytes | None) -> ConversationState:
        if not raw:
            return cls()
        data = json_codec.loads(raw)
        known = {k: v for k, v in data.items() if k in _STATE_FIELDS}
        return cls(**known)

    def to_json(self) -> str:
        # Not dataclasses.asdict: it deep-copies every value, and this runs on every message.
        return json_codec.dumps({name: getattr(self, name) for name in _STATE_FIELDS})


_STATE_FIELDS = tuple(f.name for f in fields(ConversationState))


@dataclass(frozen=True)
class Opened:
    """A conversation as one round trip found it: its state, how many messages it sent in the
    current minute before this one, and each reader's own replies, in the readers' order."""

    state: ConversationState
    sent_before: int
    extra: list[list[Any]]


class ConversationStore:
    """A conversation's state, transcript and message count. The engine reads all three in one
    round trip (`open`) and writes them with the turn's other writes (`turn_writes`, sent as
    one batch: bot/core/batch.py), so an ordinary message costs two Redis round trips whatever
    else is kept with it."""

    def __init__(self, *, redis: StrRedis, keys: Keys, clock: Clock,
                 retention_seconds: int) -> None:
        self.redis = redis
        self.keys = keys
        self.clock = clock
        self.retention = retention_seconds

    def _rate_key(self, conversation_id: str) -> str:
        window = int(self.clock().timestamp()) // RATE_WINDOW
        return self.keys(CONV_RATE, conversation=conversation_id, window=window)

    async def open(self, conversation_id: str,
                   reads: Iterable[list[Command]] = ()) -> Opened:
        """State and this minute's message count in one round trip, with each group of `reads`
        (a channel's session record, the parse cache's entry) answered in its own list."""
        groups = list(reads)
        replies = await batch.run(self.redis, [
            ("GET", self.keys(CONV_STATE, conversation=conversation_id)),
            ("GET", self._rate_key(conversation_id)),
            *(command for group in groups for command in group)])
        raw, count, *rest = replies
        extra, start = [], 0
        for group in groups:
            extra.append(rest[start:start + len(group)])
            start += len(group)
        return Opened(ConversationState.from_json(raw), int(count or 0), extra)

    async def load(self, conversation_id: str) -> ConversationState:
        raw = await self.redis.get(self.keys(CONV_STATE, conversation=conversation_id))
        return ConversationState.from_json(raw)

    def turn_writes(self, conversation_id: str, *, counted: bool,
                    state: ConversationState | None,
                    lines: Iterable[tuple[str, str]] = ()) -> list[Command]:
        """A turn's own writes: count the message in this minute's window (if `counted`), save
        `state` (if given), append (sender, text) lines to the transcript (its latest kept)."""
        commands: list[Command] = []
        if counted:
            rate = self._rate_key(conversation_id)
            commands += [("INCR", rate), ("EXPIRE", rate, 2 * RATE_WINDOW)]
        if state is not None:
            commands.append(("SET", self.keys(CONV_STATE, conversation=conversation_id),
                             state.to_json(), "EX", self.retention))
        now = round(self.clock().timestamp(), 3)
        entries = [json_codec.dumps({"t": now, "from": sender, "text": text})
                   for sender, text in lines]
        if entries:
            key = self.keys(CONV_TRANSCRIPT, conversation=conversation_id)
            commands += [("RPUSH", key, *entries), ("LTRIM", key, -TRANSCRIPT_LINES, -1),
                         ("EXPIRE", key, self.retention)]
        return commands

    async def save(self, conversation_id: str, state: ConversationState) -> None:
        """The state alone, outside a turn (the worker's renewal question)."""
        await self.redis.set(self.keys(CONV_STATE, conversation=conversation_id),
                             state.to_json(), ex=self.retention)

    async def transcript(self, conversation_id: str) -> list[dict[str, Any]]:
        key = self.keys(CONV_TRANSCRIPT, conversation=conversation_id)
        raw = await self.redis.lrange(key, 0, -1)
        return [json_codec.loads(item) for item in raw]

    async def export(self, conversation_id: str) -> Section:
        """The transcript for a copy of the person's data: each line's time, who said it and
        what; kept until the retention period after the last line (the turn that wrote it set
        the expiry)."""
        lines = await self.transcript(conversation_id)
        items: list[Record] = [
            {"at": iso(float(line["t"])), "from": SPEAKERS.get(str(line["from"]), "lotsen"),
             "text": str(line["text"])} for line in lines]
        kept = float(lines[-1]["t"]) + self.retention if lines else None
        return Section(MESSAGES, items, kept)

    async def erase(self, conversation_id: str) -> int:
        """Delete every key the registry says is erased with the conversation; returns how many.
        Keys found through other indexes (bookings, leads) are deleted by their stores first."""
        deleted = 0
        for pattern in REGISTRY.values():
            if pattern.owner != Owner.CONVERSATION or pattern.erasure != Erasure.WITH_CONVERSATION:
                continue
            if pattern.parts == ("conversation",):
                key = self.keys(pattern, conversation=conversation_id)
                deleted += await self.redis.delete(key)
                continue
            async for key in self.redis.scan_iter(
                    match=self.keys.glob(pattern, conversation=conversation_id), count=200):
                deleted += await self.redis.delete(key)
        return deleted
