"""Values of the wrong shape in files and payloads: a clear error naming the field, never a
crash deep inside (or a string silently read as a list of its letters)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.accessibility.page import prose
from bot.config import ROOT
from bot.core.booking.schedule import Schedule, ScheduleError
from bot.core.content import Content, ContentError
from bot.core.i18n import Catalogs, LanguageTable
from bot.core.messages import Button, Reply
from bot.core.places import Places, PlacesError
from tests.clock import real_clock_day

LOCATIONS = {loc.id for loc in Places.load(ROOT / "config" / "locations.yml").locations}
SCHEDULE = """\
timezone: Europe/Stockholm
services: [{id: dropin, title: Drop-in}]
sessions:
  - id: first
    service: dropin
    location: jobbtorg-unga-jarva
    weekdays: [mon]
    start: "10:00"
    end: "11:00"
"""


def test_districts_written_as_one_text_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "locations.yml"
    path.write_text("locations:\n  - {id: a, name: A, address: B, districts: Järva}\n")
    with pytest.raises(PlacesError, match=r"locations\[0\] \(a\): `districts` must be a list"):
        Places.load(path)


def test_locations_must_be_a_list_of_mappings(tmp_path: Path) -> None:
    path = tmp_path / "locations.yml"
    path.write_text("locations: {id: a}\n")
    with pytest.raises(PlacesError, match="`locations` must be a list"):
        Places.load(path)
    path.write_text("locations: [just-a-name]\n")
    with pytest.raises(PlacesError, match=r"locations\[0\]: must be a mapping"):
        Places.load(path)


@pytest.mark.parametrize(("extra", "message", "line"), [
    (f"exceptions: {{date: {real_clock_day(30).isoformat()}}}", "'exceptions' must be a list",
     ""),
    ("min_notice_minutes: soon", "'min_notice_minutes' must be a number", ""),
    ("    languages: sv", "'languages' must be a list", "dropin.yml:4:"),
])
def test_schedule_values_of_the_wrong_shape_are_named(tmp_path: Path, extra: str,
                                                      message: str, line: str) -> None:
    path = tmp_path / "dropin.yml"
    path.write_text(SCHEDULE + extra + "\n")
    with pytest.raises(ScheduleError, match=message) as info:
        Schedule.load(path, LOCATIONS)
    assert line in str(info.value)


def test_schedule_numbers_are_read_as_before(tmp_path: Path) -> None:
    path = tmp_path / "dropin.yml"
    path.write_text(SCHEDULE + "min_notice_minutes: '45'\nreminder_hours_before: 2\n")
    schedule = Schedule.load(path, LOCATIONS)
    assert (schedule.min_notice_minutes, schedule.reminder_hours_before) == (45, 2.0)


def test_a_reply_survives_its_json_and_a_malformed_one_is_refused() -> None:
    reply = Reply("Hej", (Button("Ja", "/affirm"),))
    assert Reply.from_json(reply.to_json()) == reply
    with pytest.raises(TypeError, match="buttons must be a list"):
        Reply.from_json({"text": "Hej", "buttons": "/affirm"})
    with pytest.raises(TypeError, match="button must be an object"):
        Reply.from_json({"text": "Hej", "buttons": ["/affirm"]})


def test_reply_buttons_that_are_neither_a_menu_nor_a_list_are_refused(tmp_path: Path) -> None:
    source = (ROOT / "bot" / "content" / "replies.yml").read_text(encoding="utf-8")
    assert "intents:\n" in source
    broken = source.replace("intents:\n", "intents:\n  zz_broken: {text: x, buttons: {a: b}}\n",
                            1)
    path = tmp_path / "replies.yml"
    path.write_text(broken, encoding="utf-8")
    languages = LanguageTable.load(ROOT / "bot" / "content" / "languages.yml")
    with pytest.raises(ContentError, match="'zz_broken': buttons must be a menu's name or a list"):
        Content(path, Catalogs(ROOT / "locales", languages), languages)


def test_statement_prose_of_the_wrong_shape_is_named(tmp_path: Path) -> None:
    path = tmp_path / "statement.yml"
    path.write_text("sv: {title: [a, b], status: x}\nen: {title: [a, b], status: x}\n")
    words = prose(path)["sv"]
    with pytest.raises(ValueError, match="'title' must be a text"):
        words.text("title")
    with pytest.raises(ValueError, match="'status' must have a text per compliance status"):
        words.paragraphs("status", "fully")
    assert words.paragraphs("title") == ["a", "b"]
