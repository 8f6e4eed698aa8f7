"""Opt-out (STOP, SLUTA, AVSLUTA, /stop) and opt-in (START).

An opted-out conversation gets nothing more: not replies, not reminders, not broadcasts, and
its subscription ends. The one exception is the confirmation of the opt-out itself, sent with
`force`. The keywords are handled before NLU, in every push channel.

The opt-out record is the one thing about a person kept after "delete my data", because it is
what honours their objection to being messaged (the legal basis: the person's own objection,
GDPR art. 21). It is kept only as a keyed hash of the conversation (HMAC-SHA256 with
LOTSEN_HASH_SECRET, or a secret generated once and kept in Redis): it can answer "did this
number say STOP?" for a number one already has, and names nobody by itself.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import yaml

from bot.core.access.data import OPT_OUT, Section
from bot.core.hashing import KeyedHash
from bot.core.keys import Erasure, Keys, Owner, declare
from bot.core.outreach.subscriptions import SubscriptionStore
from bot.core.redis_types import StrRedis
from bot.core.stats.recorder import StatsRecorder

OPTOUT = declare("optout:{digest}", owner=Owner.CONVERSATION, expiry="none",
                 erasure=Erasure.KEPT,
                 note="a keyed hash of the conversation that said STOP: honours the "
                      "objection until START, also after erasure")


class OptOuts:
    def __init__(self, *, redis: StrRedis, keys: Keys, secret: str = "",
                 stats: StatsRecorder | None = None) -> None:
        self.redis = redis
        self.keys = keys
        self.stats = stats
        self._hash = KeyedHash(redis=redis, keys=keys, secret=secret)

    async def _key(self, conversation: str) -> str:
        digest = await self._hash.hexdigest(conversation)
        return self.keys(OPTOUT, digest=digest[:40])

    async def opted_out(self, conversation: str) -> bool:
        return bool(await self.redis.exists(await self._key(conversation)))

    async def export(self, conversation: str) -> Section:
        """For a copy of the person's data: whether this conversation said STOP (the keyed hash
        itself stays out of it). Kept until START: no end."""
        return Section(OPT_OUT, [{"stopped": await self.opted_out(conversation)}])

    async def opt_out(self, conversation: str) -> None:
        """Record the objection; it also ends the person's subscription (a later START does
        not bring it back: subscribing again needs new consent)."""
        await self.redis.set(await self._key(conversation), "1")
        await SubscriptionStore(redis=self.redis, keys=self.keys,
                                stats=self.stats).remove(conversation)

    async def opt_in(self, conversation: str) -> None:
        await self.redis.delete(await self._key(conversation))


class Keyword(StrEnum):
    """A message that is one of the opt-out or opt-in words."""

    STOP = "stop"
    START = "start"


class Keywords:
    def __init__(self, path: Path) -> None:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        self.stop = frozenset(str(w).lower() for w in data.get("stop_words", []))
        self.start = frozenset(str(w).lower() for w in data.get("start_words", []))

    def classify(self, text: str) -> Keyword | None:
        word = text.strip().strip(".!").lower()
        if word in self.stop:
            return Keyword.STOP
        if word in self.start:
            return Keyword.START
        return None
