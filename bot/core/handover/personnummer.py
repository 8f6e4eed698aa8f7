"""Swedish personal identity numbers (personnummer and samordningsnummer) in free text.

The bot must never store one: a message containing a valid number (date plausible, Luhn checksum
right) is neither sent to NLU nor written to the transcript, and the person is told why.
"""

from __future__ import annotations

import re

CANDIDATE = re.compile(r"(?<!\d)(\d{2})?(\d{2})(\d{2})(\d{2})\s?[-+]?\s?(\d{4})(?!\d)")
# Every candidate has its date's six digits in a row. Looking for those first is a quick scan,
# and most messages (every one without six digits in a row) need no more.
SIX_DIGITS = re.compile(r"\d{6}")


def luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(digits):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def find(text: str) -> list[str]:
    """Every valid personnummer or samordningsnummer in `text`, as written."""
    found: list[str] = []
    if not SIX_DIGITS.search(text):
        return found
    for match in CANDIDATE.finditer(text):
        _, yy, mm, dd, last4 = match.groups()
        month, day = int(mm), int(dd)
        if day > 60:  # samordningsnummer: day + 60
            day -= 60
        if not (1 <= month <= 12 and 1 <= day <= 31):
            continue
        if luhn_ok(f"{yy}{mm}{dd}{last4}"):
            found.append(match.group(0))
    return found


def contains(text: str) -> bool:
    return bool(find(text))


PERSONNUMMER_SHAPE = re.compile(r"(?<!\d)(\d{2})?\d{6}\s?[-+]\s?\d{4}(?!\d)")
PHONE_START = re.compile(r"^\s*(\+46|0046|07)")


def looks_like_phone(text: str) -> bool:
    """A Swedish mobile number (07..., +46...) not written in the YYMMDD-NNNN shape.

    Some mobile numbers pass the personnummer checksum; when the bot has just asked for a phone
    number, such an answer is a phone number."""
    return bool(PHONE_START.match(text)) and not PERSONNUMMER_SHAPE.search(text)


def redact(text: str) -> str:
    """`text` with every valid personnummer replaced, for anything that is stored."""
    for number in find(text):
        text = text.replace(number, "[personnummer]")
    return text
