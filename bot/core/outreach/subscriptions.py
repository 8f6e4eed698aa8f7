"""Subscriptions: who asked to hear about what, with the consent they gave, until when.

One hash per conversation (`<channel>:<user>`, the address a campaign is sent to) and one
index (a sorted set scored by expiry) so a campaign finds its audience without scanning keys.
A subscription lasts SUBSCRIPTION_DAYS from consent or renewal: the hash expires by itself, the
index entry is pruned when read. Erasure and "unsubscribe"/STOP remove both.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.core.access.data import SUBSCRIPTION as SUBSCRIPTION_GROUP
from bot.core.access.data import Section, iso
from bot.core.keys import Erasure, Keys, Owner, declare
from bot.core.redis_types import StrPipeline, StrRedis
from bot.core.stats.counters import Cell
from bot.core.stats.recorder import StatsRecorder

TOPICS = ("sfi_parents", "jobbtorg_unga", "jobbtorg", "komvux", "dropin")  # fixed ids
SUBSCRIPTION_DAYS = 365
RENEWAL_NOTICE_DAYS = 30  # the renewal question is sent once, this long before expiry
DAY = 24 * 3600

SUBSCRIPTION = declare("sub:{conversation}", owner=Owner.CONVERSATION,
                       expiry=f"{SUBSCRIPTION_DAYS} days after consent or renewal",
                       erasure=Erasure.BY_OWNER,
                       note="topics, districts, language and the consent (version, time, "
                            "channel, language, hash of the text)")
SUBSCRIBERS = declare("subs:index", owner=Owner.CONVERSATION,
                      expiry="with its longest subscription; entries pruned when theirs "
                             "expired",
                      erasure=Erasure.BY_OWNER, note="conversation ids scored by expiry")


@dataclass(frozen=True)
class Consent:
    """What the person agreed to: which text (version and hash), when, where, in what language.
    `source` is "chat" for consent given to the bot, or "import:<list>" for an imported list."""

    version: str
    at: float
    channel: str
    language: str
    text_sha256: str
    source: str = "chat"


@dataclass(frozen=True)
class Audience:
    """Whom a campaign is for. Topics are required; empty districts, channels or languages
    mean any. A subscriber without districts asked for all of the city."""

    topics: tuple[str, ...]
    districts: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()


@dataclass(frozen=True)
class Subscription:
    conversation: str  # "<channel>:<user>": where campaigns go
    language: str
    topics: tuple[str, ...]
    districts: tuple[str, ...]
    consent: Consent
    expires_at: float
    renewal_asked: bool = False

    @property
    def channel(self) -> str:
        return self.conversation.split(":", 1)[0]

    def covers(self, audience: Audience) -> bool:
        """Whether this subscription covers a campaign for `audience` (never when the audience
        names no topic)."""
        return (bool(set(self.topics) & set(audience.topics))
                and (not audience.districts or not self.districts
                     or bool(set(self.districts) & set(audience.districts)))
                and (not audience.channels or self.channel in audience.channels)
                and (not audience.languages or self.language in audience.languages))

    def to_hash(self) -> dict[str, str]:
        c = self.consent
        return {"language": self.language, "topics": ";".join(self.topics),
                "districts": ";".join(self.districts), "expires_at": repr(self.expires_at),
                "renewal_asked": "1" if self.renewal_asked else "0",
                "consent_version": c.version, "consent_at": repr(c.at),
                "consent_channel": c.channel, "consent_language": c.language,
                "consent_text_sha256": c.text_sha256, "consent_source": c.source}

    @classmethod
    def from_hash(cls, conversation: str, values: dict[str, str]) -> Subscription:
        def split(text: str) -> tuple[str, ...]:
            return tuple(t for t in text.split(";") if t)

        return cls(conversation=conversation, language=values["language"],
                   topics=split(values["topics"]), districts=split(values["districts"]),
                   consent=Consent(values["consent_version"], float(values["consent_at"]),
                                   values["consent_channel"], values["consent_language"],
                                   values["consent_text_sha256"],
                                   values.get("consent_source", "chat")),
                   expires_at=float(values["expires_at"]),
                   renewal_asked=values.get("renewal_asked") == "1")


@dataclass(kw_only=True)
class SubscriptionStore:
    redis: StrRedis
    keys: Keys
    stats: StatsRecorder | None = None  # counts subscriptions started and ended
    _index: str = field(init=False)

    def __post_init__(self) -> None:
        self._index = self.keys(SUBSCRIBERS)

    def _key(self, conversation: str) -> str:
        return self.keys(SUBSCRIPTION, conversation=conversation)

    @staticmethod
    def expiry(now: float) -> float:
        return now + SUBSCRIPTION_DAYS * DAY

    async def save(self, subscription: Subscription, now: float) -> None:
        """Store (or replace) a subscription; it expires by itself at `expires_at`. One that
        replaces none (or one run out) counts as started."""
        key = self._key(subscription.conversation)
        ttl = max(1, int(subscription.expires_at - now))
        if self.stats is not None and await self.get(subscription.conversation, now) is None:
            await self.stats.add("subscriptions_started", _cell(subscription.conversation,
                                                                subscription.language))
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            pipe.hset(key, mapping=subscription.to_hash())
            pipe.expire(key, ttl)
            pipe.zadd(self._index, {subscription.conversation: subscription.expires_at})
            # The index lives as long as its longest subscription (set if none, else extended),
            # as a duration from the injected clock: an instant would be read on Redis' clock.
            pipe.expire(self._index, ttl + 1, nx=True)
            pipe.expire(self._index, ttl + 1, gt=True)
            await pipe.execute()

    async def get(self, conversation: str, now: float) -> Subscription | None:
        values = await self.redis.hgetall(self._key(conversation))
        if not values:
            return None
        subscription = Subscription.from_hash(conversation, values)
        return subscription if subscription.expires_at > now else None

    async def remove(self, conversation: str, *, counted: bool = True) -> bool:
        """Unsubscribe or STOP (counted as ended), or erasure (`counted=False`): True if there
        was a subscription."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hget(self._key(conversation), "language")
            pipe.delete(self._key(conversation))
            pipe.zrem(self._index, conversation)
            language, deleted, _ = await pipe.execute()
        if deleted and counted and self.stats is not None:
            await self.stats.add("subscriptions_ended", _cell(conversation, language or ""))
        return bool(deleted)

    async def export(self, conversation: str) -> Section:
        """The person's subscription with its consent record, for a copy of their data; kept
        until it ends (`expires_at`), when the hash expires by itself."""
        values = await self.redis.hgetall(self._key(conversation))
        if not values:
            return Section(SUBSCRIPTION_GROUP)
        found = Subscription.from_hash(conversation, values)
        c = found.consent
        return Section(SUBSCRIPTION_GROUP, [{
            "topics": list(found.topics), "districts": list(found.districts),
            "language": found.language, "ends": iso(found.expires_at),
            "renewal_asked": found.renewal_asked,
            "consent": {"given_at": iso(c.at), "version": c.version, "channel": c.channel,
                        "language": c.language, "text_sha256": c.text_sha256,
                        "source": c.source}}], found.expires_at)

    async def erase(self, conversation: str) -> bool:
        """The erasure hook (ErasureFlow's erasers take a conversation id)."""
        return await self.remove(conversation, counted=False)

    async def renew(self, conversation: str, now: float) -> Subscription | None:
        """Another SUBSCRIPTION_DAYS from now, and a new renewal question before the end."""
        current = await self.get(conversation, now)
        if current is None:
            return None
        renewed = Subscription(current.conversation, current.language, current.topics,
                               current.districts, current.consent, self.expiry(now))
        await self.save(renewed, now)
        return renewed

    def mark_renewal_asked_on(self, pipe: StrPipeline, subscription: Subscription,
                              now: float) -> None:
        """Remember that the renewal question went out, inside the transaction that queues it;
        the expiry is set again, so a hash that expired meanwhile does not come back without
        one."""
        key = self._key(subscription.conversation)
        pipe.hset(key, "renewal_asked", "1")
        pipe.expire(key, max(1, int(subscription.expires_at - now)))

    async def conversations(self, now: float) -> list[str]:
        """Every live subscriber; expired index entries are pruned on the way."""
        await self.redis.zremrangebyscore(self._index, "-inf", now)
        return await self.redis.zrangebyscore(self._index, now, "+inf")

    async def load(self, conversations: Iterable[str], now: float) -> list[Subscription]:
        found = []
        for conversation in conversations:
            subscription = await self.get(conversation, now)
            if subscription is not None:
                found.append(subscription)
        return found

    async def matching(self, audience: Audience, now: float) -> list[Subscription]:
        """Every live subscription that covers `audience`."""
        subscriptions = await self.load(await self.conversations(now), now)
        return [s for s in subscriptions if s.covers(audience)]

    async def due_for_renewal(self, now: float) -> list[Subscription]:
        """Live subscriptions ending within RENEWAL_NOTICE_DAYS that were not asked yet."""
        soon = await self.redis.zrangebyscore(self._index, now, now + RENEWAL_NOTICE_DAYS * DAY)
        return [s for s in await self.load(soon, now) if not s.renewal_asked]


def _cell(conversation: str, language: str) -> Cell:
    return Cell(conversation.partition(":")[0], language, "subscribe")
