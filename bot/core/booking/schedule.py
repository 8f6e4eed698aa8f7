"""Drop-in schedules from `config/dropin.yml` (or the version staff published through the content
workspace, bot/core/workspace/facts.py), validated, and the slots they make.

Times in the file are local (Europe/Stockholm); slots carry aware datetimes, so a slot on the
day daylight-saving time changes has the right instant. Errors name the file (or document), the
line of the entry and the field, the same at start-up and in the staff panel's editor.

A running process swaps a newly published schedule in place (`adopt`): the booking service, the
booking texts, the flows and the staff routes all hold this one object, so each of them sees the
change at once, between two awaits, without being rebuilt.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

import yaml

from bot.core.places import LINE, LineLoader, yaml_line

N = TypeVar("N", int, float)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ScheduleError(ValueError):
    """The schedule is invalid; the message names the file and line, `line` and `field` say
    them apart (the entry's line; the field's name, e.g. `capacity`)."""

    def __init__(self, message: str, line: int | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.line, self.field = line, field


@dataclass(frozen=True)
class Service:
    id: str
    title: str


@dataclass(frozen=True)
class Session:
    """A recurring drop-in: one service at one location on some weekdays."""

    id: str
    service: str
    location: str
    weekdays: tuple[int, ...]
    start: time
    end: time
    slot_minutes: int
    capacity: int
    languages: tuple[str, ...]


@dataclass(frozen=True)
class Slot:
    session: Session
    start: datetime  # aware, in the schedule's time zone
    end: datetime

    @property
    def id(self) -> str:
        return f"{self.session.id}:{self.start.strftime('%Y-%m-%dT%H:%M')}"

    @property
    def day(self) -> date:
        return self.start.date()


@dataclass(eq=False)
class Schedule:
    """The drop-in schedule. Its fields change only through `adopt` (a published edit)."""

    sample: bool
    timezone: ZoneInfo
    horizon_days: int
    min_notice_minutes: int
    reminder_hours_before: float
    services: dict[str, Service]
    sessions: dict[str, Session]
    closed_days: frozenset[date]
    closed_sessions: frozenset[tuple[str, date]]

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, path: Path, known_locations: set[str]) -> Schedule:
        return cls.parse(path.read_text(encoding="utf-8"), str(path), known_locations)

    @classmethod
    def parse(cls, text: str, source: str, known_locations: set[str]) -> Schedule:
        """The schedule in `text` (a dropin.yml); `source` names it in errors; a session's
        location must be one of `known_locations`."""
        try:
            data = yaml.load(text, Loader=LineLoader)
        except yaml.YAMLError as exc:
            line = yaml_line(exc)
            raise ScheduleError(f"{source}:{line}: not valid YAML: {exc}" if line else
                                f"{source}: not valid YAML: {exc}", line) from exc
        if not isinstance(data, dict):
            raise ScheduleError(f"{source}: expected a mapping at the top", 1)
        return _Parser(source, known_locations).schedule(data)

    def adopt(self, other: Schedule) -> None:
        """Take `other`'s contents in place: every holder of this object sees them at once."""
        for field in fields(self):
            setattr(self, field.name, getattr(other, field.name))

    # ------------------------------------------------------------------ slots
    def slots(self, *, now: datetime, service: str | None = None,
              location: str | None = None, day: date | None = None) -> list[Slot]:
        """Bookable slots: inside the schedule, not closed, starting after the minimum notice."""
        local_now = now.astimezone(self.timezone)
        earliest = local_now + timedelta(minutes=self.min_notice_minutes)
        days = [day] if day else [local_now.date() + timedelta(d)
                                  for d in range(self.horizon_days + 1)]
        found: list[Slot] = []
        for current in days:
            if current in self.closed_days:
                continue
            if (current - local_now.date()).days > self.horizon_days:
                continue
            for session in self.sessions.values():
                if service and session.service != service:
                    continue
                if location and session.location != location:
                    continue
                if current.weekday() not in session.weekdays:
                    continue
                if (session.id, current) in self.closed_sessions:
                    continue
                found.extend(s for s in self._session_slots(session, current)
                             if s.start >= earliest)
        return sorted(found, key=lambda s: (s.start, s.session.id))

    def _session_slots(self, session: Session, day: date) -> list[Slot]:
        slots = []
        start = datetime.combine(day, session.start, self.timezone)
        end_of_session = datetime.combine(day, session.end, self.timezone)
        step = timedelta(minutes=session.slot_minutes)
        while start + step <= end_of_session:
            slots.append(Slot(session, start, start + step))
            start = start + step
        return slots

    def slot(self, slot_id: str, *, now: datetime) -> Slot | None:
        """The slot with this id if it is still bookable now (in the future, in the schedule)."""
        try:
            session_id, when = slot_id.split(":", 1)
            local = datetime.strptime(when, "%Y-%m-%dT%H:%M").replace(tzinfo=self.timezone)
        except ValueError:
            return None
        session = self.sessions.get(session_id)
        if session is None:
            return None
        for slot in self.slots(now=now, day=local.date(), service=session.service,
                               location=session.location):
            if slot.id == slot_id:
                return slot
        return None

    def offers(self, slot_id: str) -> Slot | None:
        """The slot with this id if the schedule has it at all: its session runs that day at
        that time and is not closed (whether or not it can still be booked now)."""
        try:
            session_id, when = slot_id.split(":", 1)
            local = datetime.strptime(when, "%Y-%m-%dT%H:%M").replace(tzinfo=self.timezone)
        except ValueError:
            return None
        session = self.sessions.get(session_id)
        day = local.date()
        if session is None or day in self.closed_days or day.weekday() not in \
                session.weekdays or (session.id, day) in self.closed_sessions:
            return None
        return next((s for s in self._session_slots(session, day) if s.id == slot_id), None)

    def seats_on(self, location: str, day: date) -> int:
        """All the seats the location's sessions offer on `day` (booked or not)."""
        if day in self.closed_days:
            return 0
        return sum(len(self._session_slots(session, day)) * session.capacity
                   for session in self.sessions.values()
                   if session.location == location and day.weekday() in session.weekdays
                   and (session.id, day) not in self.closed_sessions)

    def dropin_locations(self) -> list[str]:
        """The locations with drop-in sessions, in the order of the schedule."""
        return list(dict.fromkeys(session.location for session in self.sessions.values()))

    def locations_for(self, service: str) -> list[str]:
        seen: dict[str, None] = {}
        for session in self.sessions.values():
            if session.service == service:
                seen.setdefault(session.location)
        return list(seen)


class _Parser:
    def __init__(self, source: str, known_locations: set[str]) -> None:
        self.source = source
        self.locations = known_locations

    def fail(self, entry: Mapping[str, object] | None, message: str,
             field: str | None = None) -> ScheduleError:
        line = entry.get(LINE) if entry is not None else None
        number = line if isinstance(line, int) else None
        where = f"{self.source}:{number}" if number else self.source
        return ScheduleError(f"{where}: {message}", number, field)

    def schedule(self, data: Mapping[str, object]) -> Schedule:
        try:
            tz = ZoneInfo(str(data.get("timezone", "Europe/Stockholm")))
        except Exception as exc:
            raise self.fail(data, f"unknown timezone {data.get('timezone')!r}",
                            "timezone") from exc
        services = {}
        for entry in self.items(data, "services"):
            service = Service(id=self.text(entry, "id"), title=self.text(entry, "title"))
            if service.id in services:
                raise self.fail(entry, f"service id {service.id!r} is used twice", "id")
            services[service.id] = service
        sessions = {}
        for entry in self.items(data, "sessions"):
            session = self.session(entry, services)
            if session.id in sessions:
                raise self.fail(entry, f"session id {session.id!r} is used twice", "id")
            sessions[session.id] = session
        closed_days, closed_sessions = set(), set()
        for entry in self.items(data, "exceptions", required=False):
            day = self.date(entry, "date")
            if entry.get("session"):
                if entry["session"] not in sessions:
                    raise self.fail(entry, f"unknown session {entry['session']!r}",
                                    "session")
                closed_sessions.add((str(entry["session"]), day))
            else:
                closed_days.add(day)
        return Schedule(
            sample=bool(data.get("sample", False)), timezone=tz,
            horizon_days=self.positive(data, "horizon_days", 14),
            min_notice_minutes=self.number(data, "min_notice_minutes", 30, int),
            reminder_hours_before=self.number(data, "reminder_hours_before", 24.0, float),
            services=services, sessions=sessions, closed_days=frozenset(closed_days),
            closed_sessions=frozenset(closed_sessions))

    def items(self, data: Mapping[str, object], key: str,
              required: bool = True) -> list[Mapping[str, object]]:
        """The mappings listed under `key` (`required`: at least one; else absent is none)."""
        items = data.get(key)
        if not required and not items:
            return []
        if not isinstance(items, list) or not items:
            raise self.fail(data, f"'{key}' must be a {'non-empty ' if required else ''}list",
                            key)
        mappings = [item for item in items if isinstance(item, Mapping)]
        if len(mappings) != len(items):
            raise self.fail(data, f"every entry of '{key}' must be a mapping", key)
        return mappings

    def number(self, data: Mapping[str, object], key: str, default: N,
               kind: Callable[[str | float], N]) -> N:
        """`data[key]` (or `default`) converted by `kind` (int, float)."""
        value = data.get(key, default)
        try:
            if isinstance(value, int | float | str):
                return kind(value)
        except ValueError:
            pass
        raise self.fail(data, f"'{key}' must be a number", key)

    def session(self, entry: Mapping[str, object], services: dict[str, Service]) -> Session:
        service = self.text(entry, "service")
        if service not in services:
            raise self.fail(entry, f"unknown service {service!r} (known: {', '.join(services)})",
                            "service")
        location = self.text(entry, "location")
        if location not in self.locations:
            raise self.fail(entry, f"unknown location {location!r}: add it to locations.yml",
                            "location")
        days = entry.get("weekdays")
        if not isinstance(days, list) or not days:
            raise self.fail(entry, "'weekdays' must be a list like [mon, thu]", "weekdays")
        try:
            weekdays = tuple(WEEKDAYS.index(str(d).lower()[:3]) for d in days)
        except ValueError:
            raise self.fail(entry, f"weekdays must be among {', '.join(WEEKDAYS)}",
                            "weekdays") from None
        start, end = self.time(entry, "start"), self.time(entry, "end")
        if end <= start:
            raise self.fail(entry, f"ends ({end}) before it starts ({start})", "end")
        languages = entry.get("languages") or []
        if not isinstance(languages, list):
            raise self.fail(entry, "'languages' must be a list like [sv, ar]", "languages")
        slot_minutes = self.positive(entry, "slot_minutes", 30)
        if (datetime.combine(date.min, end) - datetime.combine(date.min, start)) < timedelta(
                minutes=slot_minutes):
            raise self.fail(entry, "the time window is shorter than one slot",
                            "slot_minutes")
        return Session(id=self.text(entry, "id"), service=service, location=location,
                       weekdays=weekdays, start=start, end=end, slot_minutes=slot_minutes,
                       capacity=self.positive(entry, "capacity", 1),
                       languages=tuple(str(x) for x in languages))

    def text(self, entry: Mapping[str, object], key: str) -> str:
        value = entry.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(entry, f"'{key}' is missing or empty", key)
        if key == "id" and ":" in value:
            raise self.fail(entry, f"id {value!r} must not contain ':'", key)
        return value

    def time(self, entry: Mapping[str, object], key: str) -> time:
        try:
            return time.fromisoformat(str(entry[key]))
        except (KeyError, ValueError):
            raise self.fail(entry, f"'{key}' must be a time like \"09:30\"", key) from None

    def date(self, entry: Mapping[str, object], key: str) -> date:
        value = entry.get(key)
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise self.fail(entry, f"'{key}' must be a date like 2026-12-24", key) from None

    def positive(self, entry: Mapping[str, object], key: str, default: int) -> int:
        value = entry.get(key, default)
        if not isinstance(value, int) or value < 1:
            raise self.fail(entry, f"'{key}' must be a whole number >= 1", key)
        return value
