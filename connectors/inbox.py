"""What every push channel (Telegram, SMS) does with one inbound message: take each provider
delivery once, handle STOP/START before NLU, count it as a reply to a campaign the person got
in the last days, run the dialogue, and queue the replies in the outbox.

Deduplication never drops a message. A delivery is first *claimed* with a short lease; it is
marked *done* in the same Redis transaction that queues its replies (or, when nothing is to be
sent, right after processing). A provider's retry while the first attempt is still running is
told to come back later (503); a retry after a crash or a 5xx finds the claim released or its
lease run out and is processed; a true duplicate of a finished delivery is acknowledged and
skipped.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.content import Content
from bot.core.dialogue import DialogueEngine
from bot.core.keys import Erasure, Keys, Owner, declare
from bot.core.messages import IncomingMessage, Reply
from bot.core.outreach.campaigns import CampaignStore
from bot.core.redis_types import StrPipeline, StrRedis
from connectors.optout import Keyword, Keywords, OptOuts
from connectors.outbox import Outbox

DONE_SECONDS = 2 * 24 * 3600
LEASE_SECONDS = 30
PROCESSING, DONE = "processing", "done"
INBOUND_SEEN = declare("inbound:{provider}:{message}", owner=Owner.SYSTEM, expiry="2 days",
                       erasure=Erasure.EXPIRES, note="a provider's message id, to skip retries")


@dataclass(frozen=True)
class Delivery:
    """One provider delivery being processed (its claim key)."""

    key: str

    def mark_done(self, pipe: StrPipeline) -> None:
        pipe.set(self.key, DONE, ex=DONE_SECONDS)


class Busy(Exception):
    """The same delivery is being processed right now: the provider should retry later."""


class ChannelInbox:
    def __init__(self, engine: DialogueEngine, outbox: Outbox, optouts: OptOuts,
                 keywords: Keywords, redis: StrRedis, keys: Keys) -> None:
        self.engine = engine
        self.outbox = outbox
        self.optouts = optouts
        self.keywords = keywords
        self.redis = redis
        self.keys = keys
        # A message within days of a campaign's is a reply to it.
        self.campaigns = CampaignStore(redis=redis, keys=keys)

    @property
    def content(self) -> Content:
        return self.engine.content

    async def claim(self, provider: str, message_id: str) -> Delivery | None:
        """The delivery to process; None if it was processed before; `Busy` if it is being
        processed now (a lease that a crash lets run out)."""
        key = self.keys(INBOUND_SEEN, provider=provider, message=message_id[:100])
        if await self.redis.set(key, PROCESSING, nx=True, ex=LEASE_SECONDS):
            return Delivery(key)
        if await self.redis.get(key) == DONE:
            return None
        raise Busy(provider)

    async def finish(self, delivery: Delivery | None) -> None:
        if delivery is not None:
            await self.redis.set(delivery.key, DONE, ex=DONE_SECONDS)

    async def release(self, delivery: Delivery | None) -> None:
        """Processing failed: let the provider's retry process it again."""
        if delivery is not None:
            await self.redis.delete(delivery.key)

    async def language_of(self, message: IncomingMessage) -> str:
        state = await self.engine.store.load(message.conversation_id)
        for code in (state.language, message.language_hint):
            if code is not None and self.engine.languages.is_enabled(code):
                return code
        return self.engine.languages.default

    async def _send(self, message: IncomingMessage, replies: list[Reply],
                    delivery: Delivery | None, *, force: bool = False,
                    erased: bool = False) -> None:
        await self.outbox.send(message.user_id, replies, force=force, indexed=not erased,
                               also=delivery.mark_done if delivery else None)

    async def handle(self, message: IncomingMessage, delivery: Delivery | None = None) -> str:
        """Process one message; returns what happened (for logs and tests)."""
        cid = message.conversation_id
        keyword = self.keywords.classify(message.text) if message.text else None
        if keyword is Keyword.STOP:
            await self.optouts.opt_out(cid)
            language = await self.language_of(message)
            await self._send(message, [self.content.reply("optout_confirmed", language)],
                             delivery, force=True)
            return "opted_out"
        if keyword is Keyword.START:
            await self.optouts.opt_in(cid)
            language = await self.language_of(message)
            await self._send(message, [self.content.reply("optin_confirmed", language)],
                             delivery)
            return "opted_in"
        if await self.optouts.opted_out(cid):
            return "ignored_opted_out"  # nothing more is sent until START
        await self.campaigns.record_reply(cid, message.source, self.outbox.jobs.clock().timestamp())
        outcome = await self.engine.handle(message)
        await self._send(message, outcome.replies, delivery, erased=outcome.erased)
        return outcome.intent or outcome.fallback or "answered"

    async def reply(self, message: IncomingMessage, key: str,
                    delivery: Delivery | None = None) -> None:
        """A fixed reply in the person's language, without the dialogue (e.g. a photo)."""
        if await self.optouts.opted_out(message.conversation_id):
            return
        language = await self.language_of(message)
        await self._send(message, [self.content.reply(key, language)], delivery)
