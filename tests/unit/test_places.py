from datetime import time
from pathlib import Path

import pytest
from babel import Locale

from bot.config import ROOT
from bot.core.places import OpeningRule, Places, PlacesError, format_hours


def test_sample_locations_load_and_are_marked_sample() -> None:
    places = Places.load(ROOT / "config" / "locations.yml")
    assert places.sample is True
    assert {loc.name for loc in places.locations} >= {"Jobbtorg unga Järva", "Jobbtorg Skärholmen"}


def test_district_lookup_ignores_case_and_diacritics() -> None:
    places = Places.load(ROOT / "config" / "locations.yml")
    assert [loc.id for loc in places.in_district("skarholmen")] == ["jobbtorg-skarholmen"]
    assert places.in_district("Atlantis") == ()


def test_hours_are_formatted_in_the_users_language() -> None:
    rules = (OpeningRule((0, 1, 2, 3), time(9), time(16)), OpeningRule((4,), time(9), time(12)))
    assert format_hours(rules, Locale.parse("sv_SE")) == "mån–tors 09:00–16:00, fre 09:00–12:00"
    assert format_hours(rules, Locale.parse("en_GB")) == "Mon–Thu 09:00–16:00, Fri 09:00–12:00"


def test_invalid_file_names_the_entry(tmp_path: Path) -> None:
    path = tmp_path / "locations.yml"
    path.write_text("locations:\n  - id: broken\n    name: X\n    address: Y\n"
                    "    hours: [{days: [mon], open: '16:00', close: '09:00'}]\n")
    with pytest.raises(PlacesError, match=r"locations\[0\] \(broken\)"):
        Places.load(path)
