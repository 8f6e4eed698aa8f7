"""What every push channel (Telegram, SMS) does with one inbound message: skip duplicate
deliveries, handle STOP/START before NLU, run the dialogue, and queue the replies in the outbox."""

from __future__ import annotations

from redis.asyncio import Redis

from bot.core.content import Content
from bot.core.dialogue import DialogueEngine
from bot.core.keys import Erasure, Keys, Owner, declare
from bot.core.messages import IncomingMessage
from connectors.optout import Keywords, OptOuts
from connectors.outbox import Outbox

DEDUPE_SECONDS = 2 * 24 * 3600
INBOUND_SEEN = declare("inbound:{provider}:{message}", owner=Owner.SYSTEM, expiry="2 days",
                       erasure=Erasure.EXPIRES, note="a provider's message id, to skip retries")


class ChannelInbox:
    def __init__(self, engine: DialogueEngine, outbox: Outbox, optouts: OptOuts,
                 keywords: Keywords, redis: Redis, keys: Keys) -> None:
        self.engine = engine
        self.outbox = outbox
        self.optouts = optouts
        self.keywords = keywords
        self.redis = redis
        self.keys = keys

    @property
    def content(self) -> Content:
        return self.engine.content

    async def seen(self, provider: str, message_id: str) -> bool:
        """True if this provider message was processed before (providers retry deliveries)."""
        key = self.keys(INBOUND_SEEN, provider=provider, message=message_id[:100])
        return not await self.redis.set(key, "1", nx=True, ex=DEDUPE_SECONDS)

    async def language_of(self, message: IncomingMessage) -> str:
        state = await self.engine.store.load(message.conversation_id)
        for code in (state.language, message.language_hint):
            if self.engine.languages.is_enabled(code):
                return code  # type: ignore[return-value]
        return self.engine.languages.default

    async def handle(self, message: IncomingMessage) -> str:
        """Process one message; returns what happened (for logs and tests)."""
        cid = message.conversation_id
        keyword = self.keywords.classify(message.text) if message.text else None
        if keyword == "stop":
            await self.optouts.opt_out(cid)
            language = await self.language_of(message)
            await self.outbox.send(message.user_id,
                                   [self.content.reply("optout_confirmed", language)], force=True)
            return "opted_out"
        if keyword == "start":
            await self.optouts.opt_in(cid)
            language = await self.language_of(message)
            await self.outbox.send(message.user_id,
                                   [self.content.reply("optin_confirmed", language)])
            return "opted_in"
        if await self.optouts.opted_out(cid):
            return "ignored_opted_out"  # nothing more is sent until START
        outcome = await self.engine.handle(message)
        await self.outbox.send(message.user_id, outcome.replies)
        return outcome.intent or outcome.fallback or "answered"

    async def reply(self, message: IncomingMessage, key: str) -> None:
        """A fixed reply in the person's language, without the dialogue (e.g. a photo)."""
        if await self.optouts.opted_out(message.conversation_id):
            return
        language = await self.language_of(message)
        await self.outbox.send(message.user_id, [self.content.reply(key, language)])
