"""The channel registry: one line per channel. The gateway takes their routes and background
tasks, the worker their jobs, both their deliveries, and `python -m bot <command>` their
commands. Adding a channel is its connector module plus its line in `CHANNELS`."""

from __future__ import annotations

from aiohttp import web

from bot.core.delivery import Deliveries
from bot.core.flows.erase import Eraser
from bot.core.jobs import JobHandler
from bot.core.outreach.reach import Reach
from connectors.base import BackgroundTask, Channel, ChannelContext, CommandChannel, StoreContext
from connectors.sms import SmsChannel
from connectors.telegram import TelegramChannel
from connectors.terminal import TerminalChannel
from connectors.webchat import WebchatChannel
from connectors.whatsapp import WhatsAppChannel

CHANNELS: tuple[type[Channel], ...] = (
    WebchatChannel,
    TelegramChannel,
    WhatsAppChannel,
    SmsChannel,
    TerminalChannel,
)


def channel_eraser(stores: StoreContext,
                   classes: tuple[type[Channel], ...] = CHANNELS) -> Eraser:
    """The channels' part of erasing a conversation (`<channel>:<user>`): needs no engine, so
    the engine's erasure flow can be given it when it is made."""
    by_name = {cls.name: cls for cls in classes}

    async def erase(conversation_id: str) -> None:
        name, _, user_id = conversation_id.partition(":")
        if name in by_name:
            await by_name[name].erase(stores, user_id)
    return erase


class ChannelRegistry:
    def __init__(self, context: ChannelContext,
                 classes: tuple[type[Channel], ...] = CHANNELS) -> None:
        names = [cls.name for cls in classes]
        if len(set(names)) != len(names):
            raise ValueError(f"two channels share a name: {names}")
        self.channels: dict[str, Channel] = {cls.name: cls(context) for cls in classes}

    def __getitem__(self, name: str) -> Channel:
        return self.channels[name]

    def deliveries(self) -> Deliveries:
        deliveries = Deliveries()
        for name, channel in self.channels.items():
            deliveries.register(name, channel.deliver)
        return deliveries

    def reaches(self) -> dict[str, Reach]:
        """The channels campaigns and imports can reach people through, by name."""
        found = {name: channel.reach() for name, channel in self.channels.items()}
        return {name: reach for name, reach in found.items() if reach is not None}

    async def warnings(self) -> list[str]:
        """Every channel's readiness warnings (`Channel.warnings`), named by channel."""
        return [f"{name}: {warning}" for name, channel in self.channels.items()
                for warning in await channel.warnings()]

    def routes(self) -> list[web.AbstractRouteDef]:
        return [route for channel in self.channels.values() for route in channel.routes()]

    def background(self) -> list[BackgroundTask]:
        return [task for channel in self.channels.values() for task in channel.background()]

    def jobs(self) -> dict[str, JobHandler]:
        handlers: dict[str, JobHandler] = {}
        for channel in self.channels.values():
            for name, handler in channel.jobs().items():
                if name in handlers:
                    raise ValueError(f"job {name!r} is handled by two channels")
                handlers[name] = handler
        return handlers

    def commands(self) -> dict[str, CommandChannel]:
        return {c.command: c for c in self.channels.values() if isinstance(c, CommandChannel)}


def channel_commands() -> dict[str, str]:
    """`python -m bot` commands that channels add, with their help (no process is built)."""
    return {cls.command: cls.help for cls in CHANNELS if issubclass(cls, CommandChannel)}
