"""Sending messages to a person outside the request that triggered them.

Coach replies and reminders reach people through their own channel; each channel registers
how it delivers (bot/runtime/channels.py), so the core never needs to know how a channel works.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from bot.core.messages import Reply

Deliver = Callable[[str, Sequence[Reply]], Awaitable[None]]
SEND_MESSAGE_JOB = "send_message"  # a delayed message: {"conversation", "replies"}


class UnknownChannel(LookupError):
    pass


class Deliveries:
    def __init__(self) -> None:
        self._by_channel: dict[str, Deliver] = {}

    def register(self, channel: str, deliver: Deliver) -> None:
        self._by_channel[channel] = deliver

    async def send(self, conversation_id: str, replies: Sequence[Reply]) -> None:
        channel, _, user_id = conversation_id.partition(":")
        try:
            deliver = self._by_channel[channel]
        except KeyError:
            raise UnknownChannel(f"no delivery registered for channel {channel!r}") from None
        await deliver(user_id, replies)
