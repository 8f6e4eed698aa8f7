"""What a channel connector is, and what it is given.

A connector turns what its channel receives into one `IncomingMessage` (with the channel's
`Capabilities`), hands it to the dialogue engine, and renders the replies for its channel. It
declares its routes (gateway), its jobs (worker), its background tasks (gateway), how a
message reaches a person outside a request (`deliver`: coach replies, reminders) and, if
campaigns can use it, its `reach` (bot/core/outreach/reach.py). The processes
build every registered channel from one `ChannelContext` (bot/runtime/channels.py), so adding a
channel is its module plus one registration line.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import ClassVar

import aiohttp
from aiohttp import web
from redis.asyncio import Redis

from bot.config import Settings
from bot.core.dialogue import DialogueEngine
from bot.core.jobs import JobHandler, JobQueue
from bot.core.keys import Keys
from bot.core.messages import Capabilities, IncomingMessage, Reply
from bot.core.outreach.reach import Reach

BackgroundTask = Callable[[asyncio.Event], Awaitable[None]]


@dataclass(frozen=True)
class ChannelContext:
    """Everything a connector may use; built once per process by bot/runtime/wiring.py."""

    settings: Settings
    redis: Redis
    http: aiohttp.ClientSession
    engine: DialogueEngine
    jobs: JobQueue

    @property
    def keys(self) -> Keys:
        return Keys(self.settings.key_prefix)


class Channel(ABC):
    name: ClassVar[str]
    capabilities: ClassVar[Capabilities]

    def __init__(self, context: ChannelContext) -> None:
        self.context = context

    def message(self, user_id: str, **fields: object) -> IncomingMessage:
        """An `IncomingMessage` from this channel, carrying its capabilities."""
        return IncomingMessage(self.name, user_id, capabilities=self.capabilities,
                               **fields)  # type: ignore[arg-type]

    @staticmethod
    def with_fields(message: IncomingMessage, **fields: object) -> IncomingMessage:
        return replace(message, **fields)  # type: ignore[arg-type]

    @abstractmethod
    async def deliver(self, user_id: str, replies: Sequence[Reply]) -> None:
        """Send replies to a person outside the request that caused them."""

    async def erase(self, user_id: str) -> None:
        """Delete what this channel keeps about a person outside the conversation's own keys
        (a session record, a provider record); part of "delete my data"."""
        return None

    def routes(self) -> list[web.RouteDef]:
        """The gateway's HTTP routes of this channel (webhooks, pages)."""
        return []

    def jobs(self) -> dict[str, JobHandler]:
        """The worker's job handlers of this channel (its senders), by job name."""
        return {}

    def background(self) -> list[BackgroundTask]:
        """Tasks the gateway runs until it stops (e.g. polling a provider)."""
        return []

    def reach(self) -> Reach | None:
        """How campaigns and subscriber imports reach people here; None: they cannot."""
        return None


class CommandChannel(Channel):
    """A channel that runs as its own command: `python -m bot <command>`."""

    command: ClassVar[str]
    help: ClassVar[str]

    @abstractmethod
    async def run(self, argv: Sequence[str]) -> int:
        """Run the channel in the foreground; returns the exit code."""
