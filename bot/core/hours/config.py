"""Reading opening hours and closed dates from config/teams.yml, with the line and the field of
any mistake (the start stops on it, like config/dropin.yml's loader).

    hours:                      # the default for every team; a team's own `hours` replaces it
      mon: ["08:00-12:00", "13:00-16:30"]
      fri: ["08:00-12:00"]      # a weekday left out (or []) is closed
    closed_dates: [2027-01-07, "2027-07-05..2027-07-30"]   # added to every team's
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from itertools import pairwise
from typing import Any

import yaml

from bot.core.hours.week import DAY_MINUTES, WEEKDAYS, Interval, OpeningHours
from bot.core.places import LINE, LineLoader

KEY_LINES = "__key_lines__"
INTERVAL = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
MAX_RANGE_DAYS = 366


class HoursError(ValueError):
    """An hours field is wrong: `line` is its line in the file, `field` its name (`hours.tue`,
    `closed_dates`)."""

    def __init__(self, message: str, line: int | None, field: str) -> None:
        super().__init__(message)
        self.line, self.field = line, field


class KeyLineLoader(LineLoader):
    """Like LineLoader, and keeps each key's own line under `__key_lines__`, so a mistake in
    `tue:` names tue's line rather than the mapping's first."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        mapping = super().construct_mapping(node, deep=deep)
        mapping[KEY_LINES] = {str(self.construct_object(key)): key.start_mark.line + 1
                              for key, _ in node.value}
        return mapping

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> object:  # type: ignore[override]
        """A date-like word that is no date (2027-13-07) stays text, so the field's own check
        names it with its line instead of YAML failing without one."""
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:
            return self.construct_scalar(node)


KeyLineLoader.add_constructor("tag:yaml.org,2002:timestamp",
                              KeyLineLoader.construct_yaml_timestamp)


def line_of(mapping: Mapping[str, object], key: str) -> int | None:
    """The line of `key` in a mapping read by KeyLineLoader (else the mapping's own line)."""
    lines = mapping.get(KEY_LINES)
    if isinstance(lines, Mapping) and isinstance(lines.get(key), int):
        return int(lines[key])
    line = mapping.get(LINE)
    return line if isinstance(line, int) else None


def parse_week(owner: Mapping[str, object], field: str = "hours",
               ) -> tuple[tuple[Interval, ...], ...]:
    """`owner[field]`: weekday -> intervals like "08:00-12:00" (at least one in the week)."""
    spec = owner.get(field)
    line = line_of(owner, field)
    if not isinstance(spec, Mapping):
        raise HoursError(f"'{field}' must map weekdays ({', '.join(WEEKDAYS)}) to lists of "
                         'intervals like "08:00-12:00"', line, field)
    days = {str(k): v for k, v in spec.items() if k not in (LINE, KEY_LINES)}
    unknown = [day for day in days if day not in WEEKDAYS]
    if unknown:
        raise HoursError(f"{field}: unknown weekday {unknown[0]!r} (use {', '.join(WEEKDAYS)})",
                         line_of(spec, unknown[0]), f"{field}.{unknown[0]}")
    week: list[tuple[Interval, ...]] = []
    for day in WEEKDAYS:
        week.append(_intervals(days.get(day), line_of(spec, day) if day in days else line,
                               f"{field}.{day}"))
    if not any(week):
        raise HoursError(f"'{field}' has no open interval on any weekday", line, field)
    return tuple(week)


def _intervals(value: object, line: int | None, field: str) -> tuple[Interval, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise HoursError(f'{field}: a list of intervals like ["08:00-12:00"]', line, field)
    found: list[Interval] = []
    for item in items:
        match = INTERVAL.match(str(item))
        if match is None:
            raise HoursError(f'{field}: {item!r} is not an interval like "08:00-12:00"',
                             line, field)
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if m1 > 59 or m2 > 59 or h1 > 23 or end > DAY_MINUTES:
            raise HoursError(f"{field}: {item!r} is not a time of day (00:00 to 24:00)",
                             line, field)
        if end <= start:
            raise HoursError(f"{field}: {item!r} ends before it starts (an interval cannot "
                             "cross midnight)", line, field)
        found.append(Interval(start, end))
    found.sort(key=lambda i: i.start)
    for before, after in pairwise(found):
        if after.start < before.end:
            raise HoursError(f"{field}: {before} and {after} overlap", line, field)
    return tuple(found)


def parse_closed_dates(owner: Mapping[str, object], field: str = "closed_dates",
                       ) -> frozenset[date]:
    """`owner[field]`: dates (2027-01-07) and inclusive ranges ("2027-07-05..2027-07-30")."""
    value = owner.get(field)
    line = line_of(owner, field)
    if value is None:
        return frozenset()
    if not isinstance(value, list):
        raise HoursError(f"'{field}' must be a list of dates like 2027-01-07 or ranges like "
                         '"2027-07-05..2027-07-30"', line, field)
    days: set[date] = set()
    for item in value:
        first, _, last = str(item).partition("..")
        try:
            start = item if isinstance(item, date) else date.fromisoformat(first.strip())
            end = start if not last else date.fromisoformat(last.strip())
        except ValueError:
            raise HoursError(f"{field}: {item!r} is not a date like 2027-01-07 or a range "
                             'like "2027-07-05..2027-07-30"', line, field) from None
        if end < start or (end - start).days >= MAX_RANGE_DAYS:
            raise HoursError(f"{field}: {item!r} must end after it starts and span at most "
                             f"{MAX_RANGE_DAYS} days", line, field)
        days.update(date.fromordinal(n) for n in range(start.toordinal(), end.toordinal() + 1))
    return frozenset(days)


def opening_hours(default: Mapping[str, object], own: Mapping[str, object]
                  ) -> OpeningHours | None:
    """A team's hours: its own `hours` if it has them, else the default's; closed dates of both.
    None when neither has hours (the team is then always staffed)."""
    owner = own if own.get("hours") is not None else default
    if owner.get("hours") is None:
        return None
    closed = parse_closed_dates(default) | parse_closed_dates(own)
    return OpeningHours(week=parse_week(owner), closed_dates=closed)
