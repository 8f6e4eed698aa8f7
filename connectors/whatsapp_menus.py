"""WhatsApp menus: a `Reply` (text and buttons) as Cloud API message objects that fit the limits.

Up to 3 buttons become reply buttons, 4 to 10 a list message, more a numbered text menu like the
SMS one (`connectors/sms_text.render`; any character may stay, WhatsApp is not GSM-7). A number
typed back picks the entry like on SMS (the engine keeps the last reply's buttons as its menu).

The limits (`LIMITS`, in characters) as documented (in Meta's pages under
developers.facebook.com/documentation/business-messaging/whatsapp/messages/, and in the WhatsApp
Node.js SDK's reference, whatsapp.github.io/WhatsApp-Nodejs-SDK/api-reference/types/):
- reply buttons ("interactive-reply-buttons-messages"; SDK ButtonObject): at most 3 buttons, a
  title of 20 that "must be unique within the message", an id of 256;
- list messages ("interactive-list-messages"; SDK RowObject): at most 10 sections and 10 rows in
  all, a row title of 24, a row description of 72, a row id of 200; the list's button label 20
  and a section title 24 (whatsapp-api-js ActionList and ListSection, which check them);
- either (SDK InteractiveObject; Meta's "supported features and limits"): a body of 1024, a
  header and a footer of 60 (this module sends neither);
- a text message's body: 4096 (360dialog's Cloud API docs; whatsapp-api-js checks it).
Meta does not say how it counts: `length` counts UTF-16 units (an emoji is two), the larger of
the usual counts, and titles are told apart ignoring case, the stricter reading of "unique".

A reply text longer than an interactive body is sent as its own text message(s) first, then the
menu with `more_label` as its body: nothing of the text is cut. So `render` returns a list of
messages, in the order they are to be sent.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.messages import Button, Reply

Message = dict[str, object]  # one Cloud API message object, without messaging_product and to


@dataclass(frozen=True)
class Limits:
    """Meta's maxima, named after the fields they limit."""

    text_body: int = 4096
    interactive_body: int = 1024
    header_text: int = 60
    footer_text: int = 60
    reply_buttons: int = 3
    reply_button_title: int = 20
    reply_button_id: int = 256
    list_button: int = 20
    list_sections: int = 10
    list_rows: int = 10  # in all sections together
    section_title: int = 24
    row_title: int = 24
    row_description: int = 72
    row_id: int = 200


LIMITS = Limits()
ELLIPSIS = "…"
# What a title cut after a word should not end with (", …" reads as a mistake), nor a cut-off
# rest begin with.
_TRAILING = " \t,;:.·–—-/(«“‘[{"
_LEADING = " \t,;:.·–—-/)»”’]}"


def length(text: str) -> int:
    """Characters as the limits count them: UTF-16 units (an emoji or a rare script's letter
    outside the Basic Multilingual Plane is two)."""
    return len(text.encode("utf-16-le")) // 2


def _within(text: str, limit: int) -> str:
    """The longest start of `text` of at most `limit` units, not ending inside a letter's
    combining marks."""
    used = 0
    for index, char in enumerate(text):
        used += length(char)
        if used > limit:
            text = text[:index]
            break
    if text and unicodedata.combining(text[-1]):  # a letter cut from its marks goes too
        while text and unicodedata.combining(text[-1]):
            text = text[:-1]
        text = text[:-1]
    return text


def _fit_words(words: Sequence[str], limit: int) -> tuple[str, int]:
    """`words` within `limit`, and how many of them show whole: the first words and "…" when
    they are too long; only a first word that alone is too long is cut inside (0 whole)."""
    whole = " ".join(words)
    if length(whole) <= limit:
        return whole, len(words)
    room = limit - length(ELLIPSIS)
    for count in range(len(words) - 1, 0, -1):
        head = " ".join(words[:count]).rstrip(_TRAILING)
        if head and length(head) <= room:
            return head + ELLIPSIS, count
    return _within(whole, room) + ELLIPSIS, 0


def _fit(title: str, limit: int) -> str:
    return _fit_words(title.split(), limit)[0]


def _reveals(words: Sequence[str], first: int, limit: int) -> list[str]:
    """The title from one of its words on ("…4 mars 13:30, Jobbtorg…"), so that word `first`,
    where it differs from titles that start alike, shows whole: every form that fits, the
    one keeping most of the start first."""
    forms = []
    for start in range(first + 1):
        if start and not words[start].strip(_TRAILING + _LEADING):
            continue  # a rest does not begin with a dash
        lead = ELLIPSIS if start else ""
        shown, whole = _fit_words(words[start:], limit - length(lead))
        if whole > first - start:
            forms.append(lead + shown)
    return forms


def _duplicates(results: Sequence[str]) -> set[int]:
    seen: dict[str, list[int]] = {}
    for index, result in enumerate(results):
        seen.setdefault(result.casefold(), []).append(index)
    return {i for indexes in seen.values() if len(indexes) > 1 for i in indexes}


def shorten(titles: Sequence[str], limit: int) -> list[str]:
    """Titles within `limit`, each different from the others (ignoring case), words kept whole.

    1. A title too long keeps its first words and ends in "…".
    2. Titles that still read alike (slots: "tisdag 4 mars 13:00, …", "tisdag 4 mars 13:30, …")
       leave out as many of the first words they share as they must to show the word where
       they differ: "…4 mars 13:30, Jobbtorg…" (the full title is a list row's description).
    3. Any still alike (equal titles, equal starts) end in their position: "Nej tack (2)".
    """
    results = [_fit(title, limit) for title in titles]
    alike = _duplicates(results)
    groups: dict[str, list[int]] = {}
    for index in sorted(alike):
        groups.setdefault(results[index].casefold(), []).append(index)
    for members in groups.values():
        split = [titles[i].split() for i in members]
        first = 0  # the first word where they differ
        while all(len(words) > first and words[first].casefold() == split[0][first].casefold()
                  for words in split):
            first += 1
        for index, words in zip(members, split, strict=True):
            taken = {r.casefold() for i, r in enumerate(results) if i != index}
            forms = _reveals(words, first, limit) if len(words) > first else []
            results[index] = next((f for f in forms if f.casefold() not in taken),
                                  results[index])
    marked: set[int] = set()
    while alike := (_duplicates(results) | {i for i, r in enumerate(results) if not r}) - marked:
        for index in alike:
            marker = f" ({index + 1})"
            results[index] = (_fit(titles[index], limit - length(marker)) + marker).strip()
        marked |= alike
    return results


# ---------------------------------------------------------------------------- messages
def _pieces(text: str, limit: int) -> list[str]:
    """`text` in parts of at most `limit`, cut between paragraphs, lines or words if it can."""
    pieces: list[str] = []
    rest = text.strip()
    while length(rest) > limit:
        head = _within(rest, limit)
        cut = next((i for sep in ("\n\n", "\n", " ") if (i := head.rfind(sep)) > 0), len(head))
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    return [*pieces, rest] if rest else pieces


def _text(body: str) -> Message:
    return {"type": "text", "text": {"body": body}}


def _texts(text: str) -> list[Message]:
    return [_text(piece) for piece in _pieces(text, LIMITS.text_body)]


def _reply_buttons(body: str, buttons: Sequence[Button]) -> Message:
    titles = shorten([b.title for b in buttons], LIMITS.reply_button_title)
    return {"type": "interactive", "interactive": {
        "type": "button",
        "body": {"text": body},
        "action": {"buttons": [{"type": "reply", "reply": {"id": b.payload, "title": title}}
                               for b, title in zip(buttons, titles, strict=True)]}}}


def _list(body: str, buttons: Sequence[Button], label: str) -> Message:
    titles = shorten([b.title for b in buttons], LIMITS.row_title)
    rows: list[dict[str, str]] = []
    for button, title in zip(buttons, titles, strict=True):
        row = {"id": button.payload, "title": title}
        full = " ".join(button.title.split())
        if title != full:  # the whole title under the shortened one
            row["description"] = _fit(full, LIMITS.row_description)
        rows.append(row)
    return {"type": "interactive", "interactive": {
        "type": "list",
        "body": {"text": body},
        "action": {"button": _fit(label, LIMITS.list_button) or ELLIPSIS,
                   "sections": [{"rows": rows}]}}}


def _numbered(text: str, buttons: Sequence[Button], prompt: str) -> list[Message]:
    """Too many choices for a list: numbered lines, as on SMS."""
    menu = "\n".join([*([prompt.strip()] if prompt.strip() else []),
                      *(f"{i} {b.title}" for i, b in enumerate(buttons, start=1))])
    whole = f"{text}\n{menu}" if text else menu
    if length(whole) <= LIMITS.text_body:
        return [_text(whole)]
    return [*_texts(text), *_texts(menu)]


def _interactive(buttons: Sequence[Button]) -> bool:
    """Whether these buttons can be WhatsApp's own: few enough, ids that fit and differ."""
    id_limit = LIMITS.reply_button_id if len(buttons) <= LIMITS.reply_buttons else LIMITS.row_id
    payloads = [b.payload for b in buttons]
    return (len(buttons) <= LIMITS.list_rows and len(set(payloads)) == len(payloads)
            and all(0 < length(p) <= id_limit for p in payloads))


def render(reply: Reply, *, menu_prompt: str, more_label: str) -> list[Message]:
    """The messages that carry `reply` on WhatsApp, in order (none for an empty reply).

    `menu_prompt` invites a choice: the list message's button ("Choose") and the line above a
    numbered menu. `more_label` is the menu's body when the text went ahead in its own message
    (too long for an interactive body, or empty, which WhatsApp refuses).
    """
    text = reply.text.strip()
    buttons = reply.buttons
    if not buttons:
        return _texts(text)
    if not _interactive(buttons):
        return _numbered(text, buttons, menu_prompt)
    ahead: list[Message] = []
    if not text or length(text) > LIMITS.interactive_body:
        ahead = _texts(text)
        text = _fit(more_label or menu_prompt, LIMITS.interactive_body) or ELLIPSIS
    if len(buttons) <= LIMITS.reply_buttons:
        return [*ahead, _reply_buttons(text, buttons)]
    return [*ahead, _list(text, buttons, menu_prompt)]
