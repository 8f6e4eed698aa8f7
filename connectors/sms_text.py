"""SMS rendering: numbered menus instead of buttons, no markup, and segment awareness.

A message in the GSM-7 alphabet fits 160 characters in one segment (153 each when split); any
other character makes the whole message UCS-2: 70 (67) UTF-16 units. Typographic characters
that have a plain GSM equivalent (dashes, curly quotes, ellipsis) are replaced first, so a
Swedish or Somali reply stays GSM-7.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.messages import Reply

GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM_EXTENDED = set("^{}\\[~]|€\f")  # two septets each
PLAIN = str.maketrans({"–": "-", "—": "-", "‘": "'", "’": "'", "“": '"', "”": '"',
                       "…": "...", "\u00a0": " ", "•": "-", "´": "'", "«": '"', "»": '"'})


@dataclass(frozen=True)
class Segments:
    encoding: str  # "GSM-7" | "UCS-2"
    units: int     # septets (GSM-7) or UTF-16 code units (UCS-2)
    count: int


def normalise(text: str) -> str:
    return text.translate(PLAIN)


def segments(text: str) -> Segments:
    if all(ch in GSM_BASIC or ch in GSM_EXTENDED for ch in text):
        units = sum(2 if ch in GSM_EXTENDED else 1 for ch in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    count = 1 if units <= single else -(-units // multi)
    return Segments(encoding, units, count)


def render(reply: Reply, prompt: str = "") -> str:
    """One SMS body: the text, then the buttons as a numbered menu ("1 Jobbtorg")."""
    lines = [reply.text.strip()]
    if reply.buttons:
        if prompt:
            lines.append(prompt)
        lines += [f"{i} {button.title}" for i, button in enumerate(reply.buttons, start=1)]
    return normalise("\n".join(lines))


def preview(text: str) -> dict[str, object]:
    """A text as its SMS is sent, with its segments: the content editor's SMS preview."""
    body = normalise(text)
    counted = segments(body)
    return {"text": body, "segments": counted.count, "encoding": counted.encoding}
