"""What a channel connector is, and what it is given.

A connector turns what its channel receives into one `IncomingMessage` (with the channel's
`Capabilities`), hands it to the dialogue engine, and renders the replies for its channel. It
declares its routes (gateway), its jobs (worker), its background tasks (gateway), how a
message reaches a person outside a request (`deliver`: coach replies, reminders), what
`/readyz` should warn about (`warnings`) and, if campaigns can use it, its `reach`
(bot/core/outreach/reach.py). The processes
build every registered channel from one `ChannelContext` (bot/runtime/channels.py), so adding a
channel is its module plus one registration line.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, ClassVar, TypedDict, Unpack

import aiohttp
from aiohttp import web

from bot.config import Settings
from bot.core.clock import Clock
from bot.core.dialogue import DialogueEngine
from bot.core.jobs import JobHandler, JobQueue
from bot.core.keys import Keys
from bot.core.messages import Capabilities, IncomingMessage, Reply
from bot.core.outreach.reach import Reach
from bot.core.redis_types import StrRedis

# A coroutine function (not any awaitable): the gateway runs each as a task.
BackgroundTask = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


class MessageChanges(TypedDict, total=False):
    """The fields of an `IncomingMessage` a connector may change after making it."""

    text: str
    payload: str | None
    language_hint: str | None
    language_chosen: bool
    source: str | None
    client_address: str | None
    received_at: datetime


@dataclass(frozen=True)
class StoreContext:
    """What a channel's own records in Redis need (erasure uses only this: no engine)."""

    settings: Settings
    redis: StrRedis
    keys: Keys
    clock: Clock


@dataclass(frozen=True)
class ChannelContext(StoreContext):
    """Everything a connector may use; built once per process by bot/runtime/wiring.py."""

    http: aiohttp.ClientSession
    engine: DialogueEngine
    jobs: JobQueue


class Channel(ABC):
    name: ClassVar[str]
    capabilities: ClassVar[Capabilities]

    def __init__(self, context: ChannelContext) -> None:
        self.context = context

    def message(self, user_id: str, *, text: str = "", payload: str | None = None,
                language_hint: str | None = None, language_chosen: bool = False,
                source: str | None = None, client_address: str | None = None) -> IncomingMessage:
        """An `IncomingMessage` from this channel, carrying its capabilities, received now."""
        return IncomingMessage(self.name, user_id, text=text, payload=payload,
                               language_hint=language_hint, language_chosen=language_chosen,
                               capabilities=self.capabilities, source=source,
                               client_address=client_address,
                               received_at=self.context.clock())

    @staticmethod
    def with_fields(message: IncomingMessage,
                    **fields: Unpack[MessageChanges]) -> IncomingMessage:
        return replace(message, **fields)

    @abstractmethod
    async def deliver(self, user_id: str, replies: Sequence[Reply]) -> None:
        """Send replies to a person outside the request that caused them."""

    @classmethod
    async def erase(cls, stores: StoreContext, user_id: str) -> None:
        """Delete what this channel keeps about a person outside the conversation's own keys
        (a session record, a provider record); part of "delete my data". A class method, so
        erasure needs no engine (the engine's erasure flow calls it)."""
        return None

    def routes(self) -> Sequence[web.AbstractRouteDef]:
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

    async def warnings(self) -> list[str]:
        """What `/readyz` warns about on this channel (e.g. the provider rejected its token,
        seen by any process): sentences naming the setting to fix, never a secret."""
        return []


class CommandChannel(Channel):
    """A channel that runs as its own command: `python -m bot <command>`."""

    command: ClassVar[str]
    help: ClassVar[str]

    @abstractmethod
    async def run(self, argv: Sequence[str]) -> int:
        """Run the channel in the foreground; returns the exit code."""
