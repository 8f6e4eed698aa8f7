"""Fact documents as the content workspace edits them: the drop-in schedule and the locations
parse from text with errors naming the line and the field, a running process swaps a new
version into the object everything holds, and the closure rules say which bookings a change
takes away (closed times, the latest bookings beyond a lowered capacity)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.config import ROOT
from bot.core.booking.closures import Held, Reason, affected
from bot.core.booking.schedule import Schedule, ScheduleError
from bot.core.booking.store import Booking
from bot.core.booking.texts import BookingTexts
from bot.core.places import Places, PlacesError
from tests.clock import STOCKHOLM, FixedClock

SHIPPED_LOCATIONS = (ROOT / "config" / "locations.yml").read_text(encoding="utf-8")
LOCATIONS = Places.parse(SHIPPED_LOCATIONS, "locations.yml").ids
CLOCK = FixedClock(datetime(2026, 11, 23, 11, 0, tzinfo=UTC))  # a Monday, 12:00 in Stockholm
SCHEDULE = """\
timezone: Europe/Stockholm
horizon_days: 10
services: [{id: dropin, title: Drop-in}, {id: guidance, title: Guidance}]
sessions:
  - id: first
    service: dropin
    location: jobbtorg-unga-jarva
    weekdays: [mon, tue, wed, thu, fri, sat, sun]
    start: "10:00"
    end: "12:00"
    slot_minutes: 30
    capacity: 3
exceptions: []
"""


def schedule(text: str = SCHEDULE) -> Schedule:
    return Schedule.parse(text, "dropin.yml", LOCATIONS)


def booking(code: str, slot: str, *, location: str = "jobbtorg-unga-jarva",
            service: str = "dropin", status: str = "booked") -> Booking:
    local = datetime.strptime(slot.split(":", 1)[1], "%Y-%m-%dT%H:%M").replace(
        tzinfo=STOCKHOLM)
    start = int(local.timestamp())
    return Booking(code=code, conversation=f"webchat:{code.lower()}", slot=slot,
                   session=slot.split(":")[0], service=service, location=location,
                   start=start, end=start + 1800, language="sv", status=status,
                   day=local.date().isoformat())


# ------------------------------------------------------------------ parsing
@pytest.mark.parametrize(("bad", "line", "field", "named"), [
    (SCHEDULE.replace("capacity: 3", "capacity: 0"), 5, "capacity", "'capacity' must be"),
    (SCHEDULE.replace('end: "12:00"', 'end: "09:00"'), 5, "end", "ends (09:00:00)"),
    (SCHEDULE.replace("location: jobbtorg-unga-jarva", "location: atlantis"), 5, "location",
     "unknown location 'atlantis'"),
    (SCHEDULE.replace("exceptions: []", "exceptions:\n  - {date: 24 december}"), 14, "date",
     "'date' must be a date"),
    (SCHEDULE.replace("    weekdays:", "   weekdays:"), 8, None, "not valid YAML"),
])
def test_a_schedule_error_names_the_document_line_and_field(bad: str, line: int,
                                                            field: str | None,
                                                            named: str) -> None:
    with pytest.raises(ScheduleError) as info:
        schedule(bad)
    assert (info.value.line, info.value.field) == (line, field)
    assert named in str(info.value) and str(info.value).startswith(f"dropin.yml:{line}:")


@pytest.mark.parametrize(("change", "field", "named"), [
    (("address: Exempelgatan 1, Järva (sample)", "address: ''"), "address",
     "`address` is missing"),
    (('{days: [fri], open: "09:00", close: "12:00"}',
      '{days: [fri], open: "12:00", close: "09:00"}'), "hours[1].close", "closes (09:00:00)"),
    (("address: Exempelgatan 1, Järva (sample)",
      "address: Exempelgatan 1\n    phone: call us"), "phone", "`phone` must be a number"),
    (("id: jobbtorg-vuxna-jarva", "id: jobbtorg-unga-jarva"), "id", "is used twice"),
])
def test_a_locations_error_names_the_line_of_the_entry_and_the_field(
        change: tuple[str, str], field: str, named: str) -> None:
    old, new = change
    assert old in SHIPPED_LOCATIONS
    text = SHIPPED_LOCATIONS.replace(old, new, 1)
    with pytest.raises(PlacesError) as info:
        Places.parse(text, "locations.yml")
    entry_line = next(number for number, line in enumerate(text.splitlines(), start=1)
                      if line.startswith("  - id: ") and number >= (info.value.line or 0))
    assert info.value.field == field and info.value.line == entry_line
    assert named in str(info.value)
    assert str(info.value).startswith(f"locations.yml:{entry_line}: locations[")


def test_a_phone_number_is_kept_and_optional() -> None:
    text = SHIPPED_LOCATIONS.replace("address: Exempelgatan 1, Järva (sample)",
                                     "address: Exempelgatan 1\n    phone: 08-508 000 00", 1)
    places = Places.parse(text, "locations.yml")
    assert places.locations[0].phone == "08-508 000 00"
    assert places.locations[1].phone == ""


def test_adopt_changes_the_object_every_holder_has() -> None:
    live = schedule()
    held_by_someone = live  # the booking service, the texts, the flows hold this one object
    closed = CLOCK.day(2)
    live.adopt(schedule(SCHEDULE.replace("exceptions: []",
                                         f"exceptions:\n  - {{date: {closed.isoformat()}}}")))
    assert closed in held_by_someone.closed_days
    assert not held_by_someone.slots(now=CLOCK(), day=closed)
    places = Places.parse(SHIPPED_LOCATIONS, "locations.yml")
    renamed = Places.parse(SHIPPED_LOCATIONS.replace("name: Jobbtorg unga Järva",
                                                     "name: Jobbtorg unga i Järva"), "x")
    texts = BookingTexts(None, live, places)  # type: ignore[arg-type]  # content unused here
    assert texts.location("jobbtorg-unga-jarva") == "Jobbtorg unga Järva"
    places.adopt(renamed)
    assert places.locations[0].name == "Jobbtorg unga i Järva"
    assert texts.location("jobbtorg-unga-jarva") == "Jobbtorg unga i Järva"  # no stale copy


# ------------------------------------------------------------------ what a change takes away
def test_a_closed_date_takes_away_every_booking_that_day_and_no_other() -> None:
    day, other = CLOCK.day(2), CLOCK.day(3)
    held = [Held(booking("AAAAAA", f"first:{day}T10:00"), 1),
            Held(booking("BBBBBB", f"first:{day}T11:30"), 2),
            Held(booking("CCCCCC", f"first:{other}T10:00"), 3),
            Held(booking("DDDDDD", f"first:{day}T10:30", status="cancelled"), 4)]
    closed = schedule(SCHEDULE.replace("exceptions: []",
                                       f"exceptions:\n  - {{date: {day.isoformat()}}}"))
    found = affected(closed, held, CLOCK.timestamp())
    assert [(a.booking.code, a.reason) for a in found] == [("AAAAAA", Reason.CLOSED),
                                                           ("BBBBBB", Reason.CLOSED)]
    assert affected(schedule(), held, CLOCK.timestamp()) == []  # nothing changed: nothing


def test_lowering_capacity_takes_away_the_latest_bookings_beyond_it() -> None:
    slot = f"first:{CLOCK.day(2)}T10:00"
    held = [Held(booking("LATEST", slot), 300), Held(booking("FIRST1", slot), 100),
            Held(booking("SECOND", slot), 200)]
    one_seat = schedule(SCHEDULE.replace("capacity: 3", "capacity: 1"))
    found = affected(one_seat, held, CLOCK.timestamp())
    assert [(a.booking.code, a.reason) for a in found] == [("SECOND", Reason.CAPACITY),
                                                           ("LATEST", Reason.CAPACITY)]
    assert found[0].to_json() == {"code": "SECOND", "slot": slot, "reason": "capacity"}


def test_a_moved_time_another_place_and_past_bookings() -> None:
    day = CLOCK.day(2)
    held = [Held(booking("MOVEDT", f"first:{day}T11:30"), 1),
            Held(booking("ELSEWH", f"first:{day}T10:00", location="jobbtorg-skarholmen"), 2),
            Held(booking("PASTBK", f"first:{CLOCK.day(0)}T10:00"), 3)]
    earlier = schedule(SCHEDULE.replace('end: "12:00"', 'end: "11:00"'))
    now = CLOCK.timestamp()
    assert [a.booking.code for a in affected(earlier, held, now)] == ["ELSEWH", "MOVEDT"]
    assert earlier.offers(f"first:{day}T10:30") is not None
    assert earlier.offers(f"first:{day}T10:15") is None  # not a slot start
    assert earlier.offers(f"first:{CLOCK.day(400)}T10:00") is not None  # beyond the horizon
