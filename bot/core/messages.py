"""The channel-independent message types every connector speaks.

A connector turns what its channel received into one `IncomingMessage`,
hands it to the dialogue engine, and renders the `Reply` objects it gets back for its channel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass(frozen=True)
class Button:
    title: str
    payload: str

    def to_json(self) -> dict[str, str]:
        return {"title": self.title, "payload": self.payload}


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[Button, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {"text": self.text, "buttons": [b.to_json() for b in self.buttons]}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Reply:
        buttons = data.get("buttons") or []
        return cls(
            text=str(data.get("text", "")),
            buttons=tuple(Button(str(b["title"]), str(b["payload"])) for b in buttons),  # type: ignore[index,union-attr]
        )


@dataclass(frozen=True)
class Capabilities:
    """What a channel can do. Its connector declares this; the core asks it, never the
    channel's name."""

    buttons: bool = True            # buttons; False: menus are numbered lines of text
    max_reply_chars: int = 4096     # the longest message the channel carries well
    short_replies: bool = False     # every character costs (paid segments): take short forms
    address_is_phone: bool = False  # the person's address here is a phone number a coach can use
    reachable_later: bool = True    # the bot can write later (notices); False: ends with a session


@dataclass(frozen=True)
class IncomingMessage:
    """One thing a person sent: free text, or the payload of a button they pressed."""

    channel: str
    user_id: str
    text: str = ""
    payload: str | None = None
    language_hint: str | None = None
    # The hint is the person's own choice (the web chat page's language), not a guess from
    # the channel (Telegram's app language): it then outranks detection like a menu choice.
    language_chosen: bool = False
    capabilities: Capabilities = Capabilities()
    source: str | None = None  # where the person came from (a campaign link), if known
    client_address: str | None = None  # for per-address limits (web); None: not limited
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def conversation_id(self) -> str:
        return f"{self.channel}:{self.user_id}"


@dataclass
class Outcome:
    """What the dialogue engine decided for one incoming message."""

    replies: list[Reply]
    language: str
    intent: str | None = None
    confidence: float | None = None
    fallback: str | None = None
    erased: bool = False  # the person's data was just erased: keep nothing of this answer
