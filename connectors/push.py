"""The common part of push channels (Telegram, SMS): replies leave through the outbox and are
sent by the worker; inbound messages go through the shared inbox (deduplication, STOP/START)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web

from bot.core.messages import Reply
from connectors.base import Channel, ChannelContext
from connectors.inbox import Busy, ChannelInbox, Delivery
from connectors.optout import Keywords, OptOuts
from connectors.outbox import Outbox
from connectors.send_limits import Pacer

RETRY_AFTER_SECONDS = 5


class PushChannel(Channel):
    def __init__(self, context: ChannelContext) -> None:
        super().__init__(context)
        self.outbox = Outbox(context.jobs, self.name)
        self.optouts = OptOuts(redis=context.redis, keys=context.keys,
                               secret=context.settings.hash_secret, stats=context.engine.stats)
        self.pacer = Pacer(redis=context.redis, keys=context.keys)
        keywords = Keywords(context.settings.content_dir / "languages.yml")
        self.inbox = ChannelInbox(context.engine, self.outbox, self.optouts, keywords,
                                  context.redis, context.keys)

    async def deliver(self, user_id: str, replies: Sequence[Reply]) -> None:
        await self.outbox.send(user_id, replies)

    async def once(self, provider: str, message_id: str,
                   process: Callable[[Delivery], Awaitable[object]]) -> bool:
        """Process one provider delivery exactly once. False for a duplicate of a finished
        one; a 503 (with Retry-After) while the same delivery is being processed; a failure
        releases the claim, so the provider's retry is processed."""
        try:
            delivery = await self.inbox.claim(provider, message_id)
        except Busy:
            raise web.HTTPServiceUnavailable(
                text=json.dumps({"error": "This delivery is being processed; retry later."}),
                content_type="application/json",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)}) from None
        if delivery is None:
            return False
        try:
            await process(delivery)
        except BaseException:
            await self.inbox.release(delivery)
            raise
        await self.inbox.finish(delivery)
        return True
