"""What a channel offers outreach: campaigns and subscriber imports ask a `Reach`, never a
channel's name, so the core stays channel-free (the connectors implement it).

A reach reads addresses from an imported list, says what a message costs and whether it may
wake someone at night, whether it can carry a text in a language (WhatsApp only sends an
approved template outside its 24-hour window), checks the channel's opt-out list, and sends one
campaign message.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar


class Unreachable(Exception):
    """The person cannot be reached on this channel (they blocked the bot): counted as failed,
    never retried."""


@dataclass(frozen=True)
class Sent:
    """A message the provider accepted. `delivered`: the provider's answer itself confirms
    delivery (no later report will come)."""

    provider_id: str
    delivered: bool = False


class Reach(ABC):
    channel: str                   # the conversation channel ("<channel>:<user>")
    # A `channel` value of an imported list -> how the person is reached ("": the default).
    import_names: ClassVar[Mapping[str, str]] = {}
    quiet_hours: bool = False      # a paid message that may wake someone: by day only
    per_second: float = 0.0        # how fast a campaign is released on this channel (0: at once)

    @property
    def available(self) -> bool:
        """Whether the channel is configured to send now."""
        return True

    @abstractmethod
    def address(self, raw: str) -> str:
        """The canonical user id for an imported address; ValueError (saying why) if invalid."""

    def segments(self, text: str) -> int:
        """What one message with `text` costs in paid units (text-message segments); 0 when free."""
        return 0

    @abstractmethod
    async def opted_out(self, user_id: str) -> bool:
        """Whether the person said STOP (checked at send time)."""

    async def remember(self, user_id: str, via: str, seconds: int) -> None:
        """Keep how to reach an imported person (e.g. the provider a list named) for `seconds`."""
        return None

    async def wait_turn(self, user_id: str) -> None:
        """Wait for a slot within the provider's limits (or raise the job queue's
        `RetryLater` when the slot is far away)."""
        return None

    def refuses(self, language: str, text: str) -> str | None:
        """Why a campaign `text` in `language` cannot go out here as written (a sentence the
        operator can act on, e.g. too long for the channel's frame), None when it can. Asked
        when a campaign is created, for the channels its audience may use."""
        return None

    def carries(self, language: str) -> bool:
        """Whether a campaign text in `language` can go out here at all (WhatsApp: an approved
        marketing template for the language, or its configured fallback). A recipient whose
        text cannot is skipped as `no_template`, and the preview names the language."""
        return True

    @abstractmethod
    async def send(self, user_id: str, text: str, campaign: str) -> Sent:
        """Send one campaign message now (its turn was waited for). Raises the job queue's
        `RetryLater` (provider errors), `GiveUp` (the provider refused it) or `Unreachable`."""

    async def send_in(self, user_id: str, text: str, campaign: str, language: str) -> Sent:
        """`send`, knowing the language of `text`: what the campaign sender calls. A channel
        that frames the text in its language (WhatsApp's templates) overrides this; the others
        send the text as it is."""
        return await self.send(user_id, text, campaign)
