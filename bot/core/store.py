"""Conversation state and transcripts in Redis.

Every key lives under the configured prefix and expires after the retention period, so the
gateway keeps no state of its own (several processes can share one Redis) and nothing about a
person outlives the retention time.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from redis.asyncio import Redis

from bot.core.keys import CONV_RATE, CONV_STATE, CONV_TRANSCRIPT, REGISTRY, Erasure, Keys, Owner


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
    # The last question answered from NLU, redacted, and what answered it: kept until the next
    # answer so that "That didn't help" can put it in the review inbox.
    review_question: str | None = None
    review_answer: str | None = None

    @classmethod
    def from_json(cls, raw: str | bytes | None) -> ConversationState:
        if not raw:
            return cls()
        data = json.loads(raw)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)


class ConversationStore:
    def __init__(self, redis: Redis, prefix: str, retention_seconds: int) -> None:
        self.redis = redis
        self.keys = Keys(prefix)
        self.retention = retention_seconds

    async def load(self, conversation_id: str) -> ConversationState:
        raw = await self.redis.get(self.keys(CONV_STATE, conversation=conversation_id))
        return ConversationState.from_json(raw)

    async def save(self, conversation_id: str, state: ConversationState) -> None:
        await self.redis.set(self.keys(CONV_STATE, conversation=conversation_id), state.to_json(),
                             ex=self.retention)

    async def append_transcript(self, conversation_id: str, sender: str, text: str) -> None:
        key = self.keys(CONV_TRANSCRIPT, conversation=conversation_id)
        entry = json.dumps({"t": round(time.time(), 3), "from": sender, "text": text},
                           ensure_ascii=False)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, entry)
            pipe.ltrim(key, -500, -1)
            pipe.expire(key, self.retention)
            await pipe.execute()

    async def transcript(self, conversation_id: str) -> list[dict[str, Any]]:
        key = self.keys(CONV_TRANSCRIPT, conversation=conversation_id)
        raw = await self.redis.lrange(key, 0, -1)
        return [json.loads(item) for item in raw]

    async def count_message(self, conversation_id: str) -> int:
        """Count this message in a fixed one-minute window; returns the count so far."""
        window = int(time.time() // 60)
        key = self.keys(CONV_RATE, conversation=conversation_id, window=window)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, 120)
            count, _ = await pipe.execute()
        return int(count)

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
