"""Button payloads: what a pressed button (or a typed menu number) sends back to the engine.

`/<intent>` answers that intent (`/<intent>/<answer>` a specific answer within it),
`/lang:<code>` chooses a language, and every flow owns one prefix (`/book:`, `/handover:`,
`/erase:`, `/sub:`, `/review:`). Code builds payloads only from these constants, and the
engine checks every payload in `replies.yml` and every fixed payload a flow declares at
start-up (`DialogueEngine.check_payloads`): a typo stops the start with its name instead of
failing when a reply is rendered.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_PAYLOAD_CHARS = 64


@dataclass(frozen=True)
class Prefix:
    """A payload family: `BOOKING("ok", slot)` is `/book:ok:<slot>`."""

    value: str

    def __call__(self, *parts: str) -> str:
        return self.value + ":".join(parts)

    def owns(self, payload: str) -> bool:
        return payload.startswith(self.value)

    def split(self, payload: str) -> tuple[str, str]:
        """(kind, argument): `/book:ok:a:b` -> ("ok", "a:b")."""
        kind, _, argument = payload.removeprefix(self.value).partition(":")
        return kind, argument


LANGUAGE = Prefix("/lang:")
BOOKING = Prefix("/book:")
HANDOVER = Prefix("/handover:")
ERASE = Prefix("/erase:")
SUBSCRIPTION = Prefix("/sub:")
REVIEW = Prefix("/review:")
SATISFACTION = Prefix("/satisfaction:")


def intent(name: str) -> str:
    """The payload that answers intent `name` (`/info_sfi`)."""
    return f"/{name}"


def intent_name(payload: str) -> str | None:
    """The intent a plain `/<intent>` payload names (`/<intent>/<answer>` for a specific
    answer); None for a flow's or language payload."""
    name = payload.removeprefix("/")
    if not payload.startswith("/") or not name or ":" in name:
        return None
    return name


HELP = intent("help")
# The third button of a "did you mean" question: neither reading; the topics instead.
SOMETHING_ELSE = intent("something_else")
BOOK_DROPIN = intent("book_dropin")
LIST_BOOKINGS = intent("list_bookings")
REQUEST_COACH = intent("request_coach")
SUBSCRIBE = intent("subscribe")
UNSUBSCRIBE = intent("unsubscribe")
