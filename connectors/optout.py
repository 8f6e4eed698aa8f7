"""Opt-out (STOP, SLUTA, AVSLUTA, /stop) and opt-in (START), kept per conversation.

An opted-out conversation gets nothing more: not replies, not reminders, not broadcasts. The
one exception is the confirmation of the opt-out itself, sent with `force`. The keywords are
handled before NLU, in every push channel.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from redis.asyncio import Redis

from bot.core.keys import Erasure, Keys, Owner, declare

OPTOUT = declare("optout:{conversation}", owner=Owner.CONVERSATION, expiry="none",
                 erasure=Erasure.KEPT, note="honours STOP: nothing is sent until START")


class OptOuts:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    def _key(self, conversation: str) -> str:
        return self.keys(OPTOUT, conversation=conversation)

    async def opted_out(self, conversation: str) -> bool:
        return bool(await self.redis.exists(self._key(conversation)))

    async def opt_out(self, conversation: str) -> None:
        await self.redis.set(self._key(conversation), "1")

    async def opt_in(self, conversation: str) -> None:
        await self.redis.delete(self._key(conversation))


class Keywords:
    def __init__(self, path: Path) -> None:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        self.stop = frozenset(str(w).lower() for w in data.get("stop_words", []))
        self.start = frozenset(str(w).lower() for w in data.get("start_words", []))

    def classify(self, text: str) -> str | None:
        word = text.strip().strip(".!").lower()
        if word in self.stop:
            return "stop"
        if word in self.start:
            return "start"
        return None
