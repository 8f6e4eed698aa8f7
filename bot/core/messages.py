"""The channel-independent message types every connector speaks.

A connector turns what its channel received into one `IncomingMessage`,
hands it to the dialogue engine, and renders the `Reply` objects it gets back for its channel.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import NotRequired, TypedDict

from bot.core.clock import system_clock


class ButtonJSON(TypedDict):
    title: str
    payload: str


class LinkJSON(TypedDict):
    title: str
    href: str


class ReplyJSON(TypedDict):
    """A reply in job payloads, the web chat's answers and its log."""

    text: str
    buttons: list[ButtonJSON]
    purpose: NotRequired[str]  # only when the reply has one
    links: NotRequired[list[LinkJSON]]  # only when the reply has some


class Purpose(StrEnum):
    """What kind of message a reply is when it is not the answer to the person's own message.
    A channel that may write first only within a window after the person's last message
    (WhatsApp: 24 hours) sends each kind outside it as that kind's approved template."""

    REMINDER = "reminder"        # a booking's reminder
    COACH_REPLY = "coach_reply"  # a coach's message to a lead
    NOTICE = "notice"            # any other system message (a closure, a renewal question)
    CAMPAIGN = "campaign"        # a campaign message (marketing)


PURPOSES = frozenset(purpose.value for purpose in Purpose)


@dataclass(frozen=True)
class Button:
    title: str
    payload: str

    def to_json(self) -> ButtonJSON:
        return {"title": self.title, "payload": self.payload}


@dataclass(frozen=True)
class Link:
    """A link shown under a reply by a channel that serves pages (the web chat's download of
    one's data). Kept apart from the text, so it never enters the transcript a coach reads."""

    title: str
    href: str

    def to_json(self) -> LinkJSON:
        return {"title": self.title, "href": self.href}


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[Button, ...] = ()
    # None: the answer to the person's own message; else what the bot writes on its own.
    purpose: Purpose | None = None
    links: tuple[Link, ...] = ()

    def to_json(self) -> ReplyJSON:
        data: ReplyJSON = {"text": self.text, "buttons": [b.to_json() for b in self.buttons]}
        if self.purpose is not None:
            data["purpose"] = self.purpose.value
        if self.links:
            data["links"] = [link.to_json() for link in self.links]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Reply:
        """A reply as `to_json` wrote it (a job's payload); a malformed one raises TypeError."""
        listed = data.get("buttons") or []
        if not isinstance(listed, list):
            raise TypeError("a reply's buttons must be a list")
        buttons = []
        for button in listed:
            if not isinstance(button, Mapping):
                raise TypeError("a reply's button must be an object")
            buttons.append(Button(str(button["title"]), str(button["payload"])))
        raw = data.get("purpose")
        if raw is not None and raw not in PURPOSES:
            raise TypeError(f"a reply's purpose must be one of {', '.join(PURPOSES)}")
        purpose = Purpose(str(raw)) if raw is not None else None
        links = data.get("links") or []
        if not isinstance(links, list) or not all(isinstance(link, Mapping) for link in links):
            raise TypeError("a reply's links must be a list of objects")
        return cls(text=str(data.get("text", "")), buttons=tuple(buttons), purpose=purpose,
                   links=tuple(Link(str(link["title"]), str(link["href"])) for link in links))


@dataclass(frozen=True)
class Capabilities:
    """What a channel can do. Its connector declares this; the core asks it, never the
    channel's name."""

    buttons: bool = True            # buttons; False: menus are numbered lines of text
    max_reply_chars: int = 4096     # the longest message the channel carries well
    short_replies: bool = False     # every character costs (paid segments): take short forms
    address_is_phone: bool = False  # the person's address here is a phone number a coach can use
    reachable_later: bool = True    # the bot can write later (notices); False: ends with a session
    title_chars: int | None = None  # button titles longer than this are shown shortened
    # A copy of one's data (bot/core/access/): the channel sends files into the chat, or serves
    # the copy at a path ("{user}" is the person's id there); neither: a summary, and how to ask.
    documents: bool = False
    download_link: str | None = None
    notices_in_page: bool = False   # its page shows the city's notices (the web chat);
    #                                 False: the core sends each once with the next reply


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
    received_at: datetime = field(default_factory=system_clock)  # connectors pass theirs

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
