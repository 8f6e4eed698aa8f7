"""Locations and opening hours from `config/locations.yml` (operator-edited, may be sample data),
or from the version staff published through the content workspace (bot/core/workspace/facts.py).

Opening hours are structured (weekday, open, close) so that they are shown with babel's day
names and time format in the user's own language. Errors name the file (or document), the line
of the entry and the field, the same whether the text comes from the file at start-up or from
an editor in the staff panel.

A running process swaps a newly published version in place (`adopt`), so every holder of the
one `Places` object (the dialogue, the booking flow, the start-up content) sees the change at
once, between two awaits, without being rebuilt.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import time
from pathlib import Path
from typing import Any

import yaml
from babel import Locale
from babel.dates import format_time

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PHONE = re.compile(r"^\+?[0-9][0-9 \-]{4,24}$")
LINE = "__line__"


class PlacesError(ValueError):
    """The locations file is invalid; the message names the entry, its line and the field."""

    def __init__(self, message: str, line: int | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.line, self.field = line, field


class LineLoader(yaml.SafeLoader):
    """Keeps the line of every mapping as `__line__`, so errors can name it (the schedule's
    parser uses it too)."""

    # Any: the signature of SafeLoader's own method (keys and values are any YAML).
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        mapping = super().construct_mapping(node, deep=deep)
        mapping[LINE] = node.start_mark.line + 1
        return mapping


def yaml_line(exc: yaml.YAMLError) -> int | None:
    """The line a YAML syntax error points at (1-based), if it names one."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return int(mark.line) + 1 if mark is not None else None


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
    phone: str = ""  # "" when the file gives none


@dataclass(eq=False)
class Places:
    """The locations. Its fields change only through `adopt` (a published edit)."""

    sample: bool
    locations: tuple[Location, ...]

    @classmethod
    def load(cls, path: Path) -> Places:
        return cls.parse(path.read_text(encoding="utf-8"), str(path))

    @classmethod
    def parse(cls, text: str, source: str) -> Places:
        """The locations in `text` (a locations.yml); `source` names it in errors."""
        try:
            data = yaml.load(text, Loader=LineLoader) or {}
        except yaml.YAMLError as exc:
            line = yaml_line(exc)
            raise PlacesError(f"{source}:{line}: not valid YAML: {exc}" if line else
                              f"{source}: not valid YAML: {exc}", line) from exc
        if not isinstance(data, Mapping):
            raise PlacesError(f"{source}: must be a mapping with `locations`", 1, "locations")
        entries = data.get("locations") or []
        if not entries:
            raise PlacesError(f"{source}: no locations", data.get(LINE), "locations")
        if not isinstance(entries, list):
            raise PlacesError(f"{source}: `locations` must be a list", data.get(LINE),
                              "locations")
        locations: list[Location] = []
        for index, entry in enumerate(entries):
            location = _location(source, index, entry, data.get(LINE))
            if any(known.id == location.id for known in locations):
                raise _error(source, index, entry, "id", f"the id {location.id!r} is used "
                                                         "twice")
            locations.append(location)
        return cls(sample=bool(data.get("sample", False)), locations=tuple(locations))

    def adopt(self, other: Places) -> None:
        """Take `other`'s contents in place: every holder of this object sees them at once."""
        for field in fields(self):
            setattr(self, field.name, getattr(other, field.name))

    @property
    def ids(self) -> set[str]:
        return {loc.id for loc in self.locations}

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


Fail = Callable[[str, str], "PlacesError"]  # (field, message) -> the error naming the entry


def _error(source: str, index: int, entry: object, field: str, message: str,
           parent_line: int | None = None) -> PlacesError:
    line = entry.get(LINE) if isinstance(entry, Mapping) else parent_line
    name = f" ({entry.get('id', '?')})" if isinstance(entry, Mapping) else ""
    where = f"{source}:{line}" if line else source
    return PlacesError(f"{where}: locations[{index}]{name}: {message}", line, field)


def _location(source: str, index: int, entry: object, parent_line: int | None) -> Location:
    if not isinstance(entry, Mapping):
        raise _error(source, index, entry, "locations",
                     "must be a mapping (id, name, address, districts, hours)", parent_line)

    def fail(field: str, message: str) -> PlacesError:
        return _error(source, index, entry, field, message)

    values: dict[str, str] = {}
    for key in ("id", "name", "address"):
        value = entry.get(key)
        if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
            raise fail(key, f"`{key}` is missing or empty")
        values[key] = str(value)
    if ":" in values["id"]:
        raise fail("id", f"the id {values['id']!r} must not contain ':'")
    phone = entry.get("phone", "")
    if phone and not (isinstance(phone, str) and PHONE.match(phone.strip())):
        raise fail("phone", "`phone` must be a number like \"08-508 000 00\" or "
                            "\"+46 8 508 000 00\"")
    districts = _listed(entry.get("districts", []), "districts", fail)
    hours = _listed(entry.get("hours", []), "hours", fail)
    return Location(id=values["id"], name=values["name"], address=values["address"],
                    districts=tuple(str(d) for d in districts),
                    hours=tuple(_rule(rule, i, fail) for i, rule in enumerate(hours)),
                    phone=str(phone).strip() if phone else "")


def _listed(value: object, key: str, fail: Fail) -> list[object]:
    """The list under `key`; anything else is an error naming the key."""
    if not isinstance(value, list):
        raise fail(key, f"`{key}` must be a list")
    return value


def _rule(rule: object, index: int, fail: Fail) -> OpeningRule:
    field = f"hours[{index}]"
    if not isinstance(rule, Mapping):
        raise fail(field, "each of `hours` must be a mapping (days, open, close)")
    days = rule.get("days")
    if not isinstance(days, list) or not days:
        raise fail(f"{field}.days", "`days` must be a list like [mon, tue]")
    try:
        weekdays = tuple(WEEKDAYS.index(str(d).lower()[:3]) for d in days)
    except ValueError:
        raise fail(f"{field}.days", f"days must be among {', '.join(WEEKDAYS)}") from None
    opens, closes = (_time(rule, key, f"{field}.{key}", fail) for key in ("open", "close"))
    if closes <= opens:
        raise fail(f"{field}.close", f"closes ({closes}) before it opens ({opens})")
    return OpeningRule(days=weekdays, opens=opens, closes=closes)


def _time(rule: Mapping[str, object], key: str, field: str, fail: Fail) -> time:
    try:
        return time.fromisoformat(str(rule[key]))
    except (KeyError, ValueError):
        raise fail(field, f"`{key}` must be a time like \"09:00\"") from None


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
