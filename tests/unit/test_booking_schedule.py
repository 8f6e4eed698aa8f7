"""Schedules: validation with line numbers, slots in the future only, exceptions, DST."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from babel import Locale

from bot.config import ROOT
from bot.core.booking.schedule import Schedule, ScheduleError
from bot.core.booking.when import WhenParser
from bot.core.places import Places

LOCATIONS = {loc.id for loc in Places.load(ROOT / "config" / "locations.yml").locations}
SUNDAY_SCHEDULE = """
timezone: Europe/Stockholm
horizon_days: 14
services: [{id: dropin, title: Drop-in}]
sessions:
  - {id: s, service: dropin, location: jobbtorg-unga-jarva, weekdays: [sat, sun],
     start: "10:00", end: "11:00", slot_minutes: 30, capacity: 2}
exceptions:
  - {date: 2026-10-31}
"""


def load(tmp_path: Path, text: str) -> Schedule:
    path = tmp_path / "dropin.yml"
    path.write_text(text)
    return Schedule.load(path, LOCATIONS)


def test_the_shipped_sample_schedule_is_valid_and_marked_sample() -> None:
    schedule = Schedule.load(ROOT / "config" / "dropin.yml", LOCATIONS)
    assert schedule.sample
    assert {"jobbtorg-unga", "kompetensverkstan", "sfi-foraldralediga"} <= set(schedule.services)
    now = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # a Monday
    slots = schedule.slots(now=now)
    assert slots and all(s.start > now for s in slots)


def test_slots_follow_weekdays_window_exceptions_and_notice(tmp_path: Path) -> None:
    schedule = load(tmp_path, SUNDAY_SCHEDULE)
    now = datetime(2026, 10, 24, 8, 15, tzinfo=UTC)  # Saturday 10:15 local (CEST)
    slots = schedule.slots(now=now)
    days = {s.day for s in slots}
    assert date(2026, 10, 24) not in days  # 10:00 has passed, 10:30 is inside the notice
    assert date(2026, 10, 25) in days
    assert date(2026, 10, 31) not in days  # closed by an exception
    assert all(s.start.weekday() in (5, 6) for s in slots)
    assert [s.start.strftime("%H:%M") for s in slots if s.day == date(2026, 10, 25)] == [
        "10:00", "10:30"]


def test_dst_change_day_gives_the_right_instants(tmp_path: Path) -> None:
    schedule = load(tmp_path, SUNDAY_SCHEDULE)
    now = datetime(2026, 10, 20, 12, 0, tzinfo=UTC)
    by_day = {s.day: s for s in schedule.slots(now=now)}
    saturday, sunday = by_day[date(2026, 10, 24)], by_day[date(2026, 10, 25)]
    assert saturday.start.astimezone(UTC).hour == 8   # 10:00 CEST = 08:00 UTC
    assert sunday.start.astimezone(UTC).hour == 9     # 10:00 CET (after the change) = 09:00 UTC
    assert schedule.slot(sunday.id, now=now) == sunday


BLOCK_SCHEDULE = """\
services:
  - id: dropin
    title: Drop-in
sessions:
  - id: first
    service: dropin
    location: jobbtorg-unga-jarva
    weekdays: [mon]
    start: "10:00"
    end: "11:00"
    capacity: 2
"""


@pytest.mark.parametrize(("field", "bad", "message"), [
    ("location", "nowhere", "unknown location 'nowhere'"),
    ("service", "nope", "unknown service 'nope'"),
    ("end", '"09:00"', "ends \\(09:00:00\\) before it starts"),
    ("weekdays", "[funday]", "weekdays must be among"),
    ("capacity", "0", "'capacity' must be a whole number >= 1"),
])
def test_invalid_schedules_name_the_line(tmp_path: Path, field: str, bad: str,
                                         message: str) -> None:
    lines = BLOCK_SCHEDULE.splitlines()
    index = next(i for i, line in enumerate(lines) if line.strip().startswith(f"{field}:"))
    lines[index] = f"    {field}: {bad}"
    with pytest.raises(ScheduleError, match=message) as info:
        load(tmp_path, "\n".join(lines))
    assert "dropin.yml:5:" in str(info.value)  # the session entry starts on line 5


def test_unknown_timezone_and_missing_sessions(tmp_path: Path) -> None:
    with pytest.raises(ScheduleError, match="unknown timezone"):
        load(tmp_path, "timezone: Mars/Olympus\nservices: []\n")
    with pytest.raises(ScheduleError, match="'sessions' must be a non-empty list"):
        load(tmp_path, "services: [{id: a, title: A}]\n")


@pytest.fixture(scope="module")
def when() -> WhenParser:
    locales = [Locale.parse(x) for x in ("sv_SE", "en_GB", "ar", "so_SO", "fa_AF", "ti_ER",
                                         "uk_UA")]
    return WhenParser(ROOT / "bot" / "content" / "dates.yml", locales)


MONDAY = date(2026, 11, 23)


@pytest.mark.parametrize(("text", "day", "part"), [
    ("imorgon förmiddag", date(2026, 11, 24), "morning"),
    ("i morgon eftermiddag", date(2026, 11, 24), "afternoon"),
    ("på torsdag", date(2026, 11, 26), None),
    ("kan jag komma pa torsdag", date(2026, 11, 26), None),
    ("tomorrow afternoon please", date(2026, 11, 24), "afternoon"),
    ("friday morning", date(2026, 11, 27), "morning"),
    ("يوم الخميس", date(2026, 11, 26), None),
    ("в четвер вранці", date(2026, 11, 26), "morning"),
    ("idag", MONDAY, None),
    ("på måndag", MONDAY, None),
    ("förmiddag", None, "morning"),
])
def test_free_text_narrows_day_and_part(when: WhenParser, text: str, day, part) -> None:
    parsed = when.parse(text, MONDAY)
    assert (parsed.day, parsed.part) == (day, part)


def test_text_without_time_words_narrows_nothing(when: WhenParser) -> None:
    assert when.parse("jag vill boka", MONDAY).empty
