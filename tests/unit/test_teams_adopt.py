"""`Teams.adopt` (bot/core/handover/teams.py): a published teams.yml is swapped into the one Teams
object every part of a process holds, so routing, hours and the SLA of every holder change at
once, and a loop over the old teams runs to its end."""

from __future__ import annotations

from datetime import datetime, time

from bot.core.handover.teams import Teams
from bot.core.hours.week import TIMEZONE, is_open, next_opening
from tests.clock import FixedClock

CLOCK = FixedClock(datetime(2031, 3, 3, 9, 0, tzinfo=TIMEZONE))  # a Monday, no holiday
SOURCE = "teams.yml"
TEAMS = """\
sla_minutes: 240
default_team: a
hours:
  mon: ["08:00-16:00"]
  tue: ["08:00-16:00"]
  wed: ["08:00-16:00"]
  thu: ["08:00-16:00"]
  fri: ["08:00-16:00"]
teams:
  - id: a
    name: Team A
    districts: [Rinkeby]
    closed_dates: []
  - id: b
    name: Team B
    districts: [Farsta]
"""


class Holder:
    """Something that keeps the Teams it was given (the handover flow, the coach API, ...)."""

    def __init__(self, teams: Teams) -> None:
        self.teams = teams


def test_adopt_swaps_the_contents_into_the_object_every_holder_has() -> None:
    live = Teams.parse(TEAMS, SOURCE)
    holder = Holder(live)
    day = CLOCK.day(1)  # Tuesday
    at = datetime.combine(day, time(10), tzinfo=TIMEZONE)
    assert is_open(holder.teams.teams["a"], at)
    old_teams = live.teams
    edited = TEAMS.replace("closed_dates: []", f"closed_dates: [{day.isoformat()}]").replace(
        "sla_minutes: 240", "sla_minutes: 60").replace("name: Team B", "name: Team Farsta")

    live.adopt(Teams.parse(edited, SOURCE))

    assert holder.teams is live
    assert not is_open(holder.teams.teams["a"], at)
    assert next_opening(holder.teams.teams["a"], at) == datetime.combine(
        CLOCK.day(2), time(8), tzinfo=TIMEZONE)
    assert is_open(holder.teams.teams["b"], at)  # the closed date is team a's own
    assert holder.teams.teams["b"].name == "Team Farsta"
    assert holder.teams.sla_seconds == 3600
    assert holder.teams.route("Farsta", None).name == "Team Farsta"
    # The old dict is replaced, not changed: a loop over it (across an await) is not broken.
    assert old_teams is not live.teams and old_teams["b"].name == "Team B"


def test_adopt_takes_every_field() -> None:
    live = Teams.parse(TEAMS, SOURCE)
    other = Teams.parse(TEAMS.replace("default_team: a", "default_team: b")
                        + "claim_timeout_minutes: 5\nresponse_hours: 48\nsample: true\n", SOURCE)
    live.adopt(other)
    assert (live.teams, live.default_team, live.sla_seconds, live.claim_timeout_seconds,
            live.response_hours, live.sample) == (
        other.teams, "b", other.sla_seconds, 300, 48, True)
