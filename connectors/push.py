"""The common part of push channels (Telegram, SMS): replies leave through the outbox and are
sent by the worker; inbound messages go through the shared inbox (deduplication, STOP/START)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.messages import Reply
from connectors.base import Channel, ChannelContext
from connectors.inbox import ChannelInbox
from connectors.optout import Keywords, OptOuts
from connectors.outbox import Outbox
from connectors.send_limits import SendLimiter


class PushChannel(Channel):
    def __init__(self, context: ChannelContext) -> None:
        super().__init__(context)
        self.outbox = Outbox(context.jobs, self.name)
        self.optouts = OptOuts(context.redis, context.keys)
        self.limiter = SendLimiter(context.redis, context.keys)
        keywords = Keywords(context.settings.content_dir / "languages.yml")
        self.inbox = ChannelInbox(context.engine, self.outbox, self.optouts, keywords,
                                  context.redis, context.keys)

    async def deliver(self, user_id: str, replies: Sequence[Reply]) -> None:
        await self.outbox.send(user_id, replies)
