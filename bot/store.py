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

    @classmethod
    def from_json(cls, raw: str | bytes | None) -> ConversationState:
        if not raw:
            return cls()
        data = json.loads(raw)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)


class Keys:
    """Key names in one place, so erasure and tests know every key a conversation can own."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def state(self, conversation_id: str) -> str:
        return f"{self.prefix}:conv:{conversation_id}:state"

    def transcript(self, conversation_id: str) -> str:
        return f"{self.prefix}:conv:{conversation_id}:transcript"

    def rate(self, conversation_id: str, window: int) -> str:
        return f"{self.prefix}:conv:{conversation_id}:rate:{window}"

    def conversation_pattern(self, conversation_id: str) -> str:
        return f"{self.prefix}:conv:{conversation_id}:*"


class ConversationStore:
    def __init__(self, redis: Redis, prefix: str, retention_seconds: int) -> None:
        self.redis = redis
        self.keys = Keys(prefix)
        self.retention = retention_seconds

    async def load(self, conversation_id: str) -> ConversationState:
        return ConversationState.from_json(await self.redis.get(self.keys.state(conversation_id)))

    async def save(self, conversation_id: str, state: ConversationState) -> None:
        await self.redis.set(self.keys.state(conversation_id), state.to_json(), ex=self.retention)

    async def append_transcript(self, conversation_id: str, sender: str, text: str) -> None:
        key = self.keys.transcript(conversation_id)
        entry = json.dumps({"t": round(time.time(), 3), "from": sender, "text": text},
                           ensure_ascii=False)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, entry)
            pipe.ltrim(key, -500, -1)
            pipe.expire(key, self.retention)
            await pipe.execute()

    async def transcript(self, conversation_id: str) -> list[dict[str, Any]]:
        raw = await self.redis.lrange(self.keys.transcript(conversation_id), 0, -1)
        return [json.loads(item) for item in raw]

    async def hit_rate_limit(self, conversation_id: str, limit_per_minute: int) -> bool:
        """Count this message in a fixed one-minute window; True when over the limit."""
        window = int(time.time() // 60)
        key = self.keys.rate(conversation_id, window)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, 120)
            count, _ = await pipe.execute()
        return int(count) > limit_per_minute

    async def erase(self, conversation_id: str) -> int:
        """Delete every key this conversation owns; returns how many were deleted."""
        deleted = 0
        async for key in self.redis.scan_iter(match=self.keys.conversation_pattern(conversation_id),
                                              count=200):
            deleted += await self.redis.delete(key)
        return deleted
