"""What an edited text must pass before it is saved: the same placeholders as its source, no
markup a channel cannot show, and the length every channel that shows it allows.

Each problem names the field and the limit, so an editor (or a translator's import) knows what
to change. The channels' limits come from their connectors (`TextLimit`), so the core names no
channel.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from string import Formatter

MARKUP = re.compile(r"<\s*/?\s*[a-zA-Z][^>]*>|\*\*|__|\]\(|^#+\s", re.MULTILINE)
MAX_TEXT_CHARS = 4000  # no text of the catalogs comes near it; a paste of a page does


@dataclass(frozen=True)
class TextLimit:
    """How long a text may be on one channel: characters of a message (after the channel's own
    rendering: `measure` gives its length, e.g. SMS segments) and of a button title."""

    channel: str
    max_chars: int
    max_title_chars: int | None = None
    unit: str = "characters"
    measure: Callable[[str], int] = len
    short_forms: bool = False  # the channel sends a text's short form where it has one
    title_chars_shown: int | None = None  # longer button titles are shown shortened there


@dataclass(frozen=True)
class Problem:
    field: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


def placeholders(text: str) -> set[str]:
    """The `{name}` fields of a text (str.format's, as the content renders them)."""
    try:
        return {name for _, name, _, _ in Formatter().parse(text) if name is not None}
    except ValueError:
        return {"<unbalanced braces>"}


def check(text_id: str, source: str, text: str, limits: Sequence[TextLimit],
          has_short: bool = False) -> list[Problem]:
    """Every problem of `text` as the translation (or new source) of `source`; [] when fine.
    `has_short`: the text has a short form, which channels that take short forms send instead
    (so their limit is not this text's)."""
    if not text.strip():
        return [Problem("text", "The text is empty; write the text or leave it as it is.")]
    problems: list[Problem] = []
    wanted, found = placeholders(source), placeholders(text)
    if wanted != found:
        parts = []
        if wanted - found:
            parts.append("missing " + ", ".join(f"{{{n}}}" for n in sorted(wanted - found)))
        if found - wanted:
            parts.append("not in the source " + ", ".join(f"{{{n}}}" for n in
                                                          sorted(found - wanted)))
        problems.append(Problem("text", "The placeholders must be the same as the source's: "
                                + "; ".join(parts) + "."))
    if MARKUP.search(text):
        problems.append(Problem("text", "Markup (HTML tags, Markdown) is shown as it is typed "
                                        "on SMS and Telegram; write plain text."))
    if len(text) > MAX_TEXT_CHARS:
        problems.append(Problem("text", f"{len(text)} characters; at most {MAX_TEXT_CHARS}."))
        return problems
    title = text_id.endswith("/title")
    for limit in limits:
        if limit.short_forms and has_short:
            continue
        most = limit.max_title_chars if title else limit.max_chars
        if most is None:
            continue
        size = len(text) if title else limit.measure(text)
        unit = "characters" if title else limit.unit
        if size > most:
            what = "a button title" if title else "a message"
            problems.append(Problem("text", f"{size} {unit}; {limit.channel} shows at most "
                                            f"{most} {unit} in {what}."))
    return problems


def notes(text_id: str, text: str, limits: Sequence[TextLimit]) -> list[str]:
    """What an editor should know but may save: a button title that a channel shows shortened
    (WhatsApp's reply buttons hold 20 characters; the rest is cut at a word)."""
    if not text_id.endswith("/title"):
        return []
    return [f"{limit.channel} shows at most {limit.title_chars_shown} characters on a button: "
            f"this title ({len(text)}) is shown shortened there."
            for limit in limits
            if limit.title_chars_shown is not None and len(text) > limit.title_chars_shown]
