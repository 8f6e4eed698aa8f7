"""Locations and opening hours from `config/locations.yml` (operator-edited, may be sample data).

Opening hours are structured (weekday, open, close) so that they are shown with babel's day
names and time format in the user's own language.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import time
from pathlib import Path

import yaml
from babel import Locale
from babel.dates import format_time

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class PlacesError(ValueError):
    """The locations file is invalid; the message names the entry."""


@dataclass(frozen=True)
class OpeningRule:
    days: tuple[int, ...]
    opens: time
    closes: time


@dataclass(frozen=True)
class Location:
    id: str
    name: str
    address: str
    districts: tuple[str, ...]
    hours: tuple[OpeningRule, ...]


@dataclass(frozen=True)
class Places:
    sample: bool
    locations: tuple[Location, ...]

    @classmethod
    def load(cls, path: Path) -> Places:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(data, Mapping):
            raise PlacesError(f"{path}: must be a mapping with `locations`")
        entries = data.get("locations") or []
        if not entries:
            raise PlacesError(f"{path}: no locations")
        if not isinstance(entries, list):
            raise PlacesError(f"{path}: `locations` must be a list")
        return cls(sample=bool(data.get("sample", False)),
                   locations=tuple(_location(path, i, e) for i, e in enumerate(entries)))

    def in_district(self, district: str | None) -> tuple[Location, ...]:
        if not district:
            return ()
        wanted = fold(district)
        return tuple(loc for loc in self.locations
                     if any(fold(d) == wanted for d in loc.districts))


def fold(text: str) -> str:
    """Case- and diacritic-insensitive form, so "jarva" finds "Järva"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _location(path: Path, index: int, entry: object) -> Location:
    where = f"{path}: locations[{index}]"
    if not isinstance(entry, Mapping):
        raise PlacesError(f"{where}: must be a mapping (id, name, address, districts, hours)")
    try:
        hours = tuple(_rule(rule) for rule in _listed(entry.get("hours", []), "hours"))
        districts = tuple(str(d) for d in _listed(entry.get("districts", []), "districts"))
        return Location(id=str(entry["id"]), name=str(entry["name"]),
                        address=str(entry["address"]), districts=districts, hours=hours)
    except (KeyError, ValueError, TypeError) as exc:
        raise PlacesError(f"{where} ({entry.get('id', '?')}): {exc}") from exc


def _listed(value: object, key: str) -> list[object]:
    """The list under `key`; anything else is a TypeError naming the key."""
    if not isinstance(value, list):
        raise TypeError(f"`{key}` must be a list")
    return value


def _rule(rule: object) -> OpeningRule:
    if not isinstance(rule, Mapping):
        raise TypeError("each of `hours` must be a mapping (days, open, close)")
    days = tuple(WEEKDAYS.index(str(d).lower()[:3]) for d in _listed(rule["days"], "days"))
    opens, closes = time.fromisoformat(str(rule["open"])), time.fromisoformat(str(rule["close"]))
    if closes <= opens:
        raise ValueError(f"closes ({closes}) before it opens ({opens})")
    return OpeningRule(days=days, opens=opens, closes=closes)


def format_hours(rules: tuple[OpeningRule, ...], locale: Locale) -> str:
    """E.g. "mån–tors 09:00–16:00, fre 09:00–12:00" in the user's locale."""
    day_names = locale.days["format"]["abbreviated"]
    parts = []
    for rule in rules:
        span = _day_span(rule.days, day_names)
        hours = (f"{format_time(rule.opens, 'short', locale=locale)}–"
                 f"{format_time(rule.closes, 'short', locale=locale)}")
        parts.append(f"{span} {hours}")
    return ", ".join(parts)


def _day_span(days: tuple[int, ...], names: dict[int, str]) -> str:
    ordered = sorted(days)
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{names[ordered[0]]}–{names[ordered[-1]]}"
    return ", ".join(names[d] for d in ordered)
