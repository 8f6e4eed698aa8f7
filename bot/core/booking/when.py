"""Narrowing a booking by free text: a day ("imorgon", "på torsdag", "الأحد") and a part of the
day ("förmiddag", "afternoon"). Weekday names come from babel for every enabled language, so
each language understands its own and the others' weekday names."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import yaml
from babel import Locale

from bot.core.places import fold

MORNING_ENDS_HOUR = 12
WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


@dataclass(frozen=True)
class When:
    day: date | None = None
    part: str | None = None  # "morning" | "afternoon"

    @property
    def empty(self) -> bool:
        return self.day is None and self.part is None


class WhenParser:
    def __init__(self, path: Path, locales: list[Locale]) -> None:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        self.phrases: dict[str, str] = {}
        for meaning in ("today", "tomorrow", "morning", "afternoon"):
            for phrase in data[meaning]:
                self.phrases[fold(str(phrase))] = meaning
        for locale in locales:
            for width in ("wide", "abbreviated"):
                for index, name in locale.days["format"][width].items():
                    if len(name) >= 3:
                        self.phrases.setdefault(fold(name.rstrip(".")), f"weekday:{index}")
        self._longest_first = sorted(self.phrases, key=len, reverse=True)

    def parse(self, text: str, today: date) -> When:
        rest = " " + " ".join(WORD.findall(fold(text))) + " "
        day: date | None = None
        part: str | None = None
        for phrase in self._longest_first:
            needle = f" {phrase} "
            if needle not in rest:
                continue
            rest = rest.replace(needle, " ")
            meaning = self.phrases[phrase]
            if meaning == "today" and day is None:
                day = today
            elif meaning == "tomorrow" and day is None:
                day = today + timedelta(days=1)
            elif meaning.startswith("weekday:") and day is None:
                weekday = int(meaning.split(":")[1])
                day = today + timedelta(days=(weekday - today.weekday()) % 7)
            elif meaning in ("morning", "afternoon") and part is None:
                part = meaning
        return When(day, part)


def in_part(hour: int, part: str | None) -> bool:
    if part == "morning":
        return hour < MORNING_ENDS_HOUR
    if part == "afternoon":
        return hour >= MORNING_ENDS_HOUR
    return True
