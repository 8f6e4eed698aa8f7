"""Opening hours, Swedish holidays, presence and staffing (bot/core/hours/), on injected dates:
the next opening on Midsummer Eve, Christmas Eve, a Saturday night across the switch to summer
time and a Tuesday at 10:00; open time for the SLA; closed dates; and config/teams.yml mistakes
named by line and field."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.core.handover.teams import Team, Teams, TeamsError
from bot.core.hours.holidays import SWEDEN
from bot.core.hours.presence import Presence
from bot.core.hours.staffing import Staffing
from bot.core.hours.week import TIMEZONE, is_open, next_opening, staffed_seconds
from bot.core.keys import Keys
from tests.clock import FixedClock

ROOT = Path(__file__).resolve().parents[2]
SOURCE = "teams.yml"
HOURS = """\
sla_minutes: 240
default_team: a
hours:
  mon: ["08:00-12:00", "13:00-16:30"]
  tue: ["08:00-12:00", "13:00-16:30"]
  wed: ["08:00-12:00", "13:00-16:30"]
  thu: ["08:00-12:00", "13:00-16:30"]
  fri: ["08:00-12:00", "13:00-15:00"]
closed_dates: [2027-01-07]
teams:
  - id: a
    name: Team A
    districts: [Rinkeby]
  - id: b
    name: Team B
    districts: [Farsta]
    hours:
      sat: ["10:00-14:00"]
    closed_dates: ["2027-05-08..2027-05-15"]
  - id: c
    name: Team C
    districts: [Farsta]
    hours:
      sun: ["00:00-24:00"]
"""


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=TIMEZONE)  # type: ignore[misc]


@pytest.fixture(scope="module")
def teams() -> Teams:
    return Teams.parse(HOURS, SOURCE)


@pytest.fixture(scope="module")
def team(teams: Teams) -> Team:
    return teams.teams["a"]


# ---------------------------------------------------------------------- the calendar
def midsummer_eve(year: int) -> date:
    """The rule: the Friday between 19 and 25 June."""
    return next(date(year, 6, d) for d in range(19, 26) if date(year, 6, d).weekday() == 4)


@pytest.mark.parametrize("year", [2026, 2027, 2028, 2029, 2030])
def test_the_eves_from_the_package_are_the_days_the_rules_give(year: int) -> None:
    eves = {SWEDEN.name(d): d for d in (midsummer_eve(year), date(year, 12, 24),
                                         date(year, 12, 31))}
    assert eves == {"Midsummer Eve": midsummer_eve(year), "Christmas Eve": date(year, 12, 24),
                    "New Year's Eve": date(year, 12, 31)}
    named = {SWEDEN.name(date(year, 1, 1) + timedelta(days=n)) for n in range(366)} - {None}
    assert {"Midsummer Day", "Christmas Day", "Good Friday", "Easter Monday",
            "National Day"} <= named
    # Half days ("from 2pm") and Sundays are not closed days by the calendar.
    assert not any("2pm" in str(name) for name in named) and "Sunday" not in named


def test_ordinary_days_are_not_holidays() -> None:
    assert date(2027, 3, 30) not in SWEDEN and date(2027, 3, 25) not in SWEDEN  # Maundy Thu
    assert date(2027, 3, 29) in SWEDEN  # Easter Monday


# ---------------------------------------------------------------------- next opening
@pytest.mark.parametrize(("now", "opens"), [
    (local(2027, 6, 25, 10, 0), local(2027, 6, 28, 8, 0)),    # Midsummer Eve (a Friday)
    (local(2027, 12, 24, 11, 0), local(2027, 12, 27, 8, 0)),  # Christmas Eve (a Friday)
    (local(2027, 12, 31, 9, 0), local(2028, 1, 3, 8, 0)),     # New Year's Eve, then a weekend
    # Saturday night before the switch to summer time (2027-03-28), and Easter Monday.
    (local(2027, 3, 27, 23, 30), local(2027, 3, 30, 8, 0)),
    (local(2027, 3, 30, 10, 0), local(2027, 3, 30, 10, 0)),   # a Tuesday at 10: open now
    (local(2027, 3, 30, 12, 15), local(2027, 3, 30, 13, 0)),  # lunch
    (local(2027, 3, 30, 16, 30), local(2027, 3, 31, 8, 0)),   # just closed
    (local(2027, 1, 6, 17, 0), local(2027, 1, 8, 8, 0)),      # Epiphany, then a closed date
])
def test_next_opening(team: Team, now: datetime, opens: datetime) -> None:
    assert next_opening(team, now) == opens
    assert is_open(team, now) == (opens == now)


def test_across_the_switch_to_summer_time_the_instant_is_right(team: Team) -> None:
    saturday_night = datetime(2027, 3, 27, 22, 30, tzinfo=UTC)  # 23:30 CET
    opens = next_opening(team, saturday_night)
    assert opens is not None
    assert opens.astimezone(UTC) == datetime(2027, 3, 30, 6, 0, tzinfo=UTC)  # 08:00 CEST
    assert (opens.astimezone(TIMEZONE).hour, opens.utcoffset()) == (8, timedelta(hours=2))
    # And back to winter time (2027-10-31): Monday 08:00 is 07:00 UTC.
    back = next_opening(team, datetime(2027, 10, 30, 20, 0, tzinfo=UTC))
    assert back is not None and back.astimezone(UTC) == datetime(2027, 11, 1, 7, 0, tzinfo=UTC)


def test_a_team_without_hours_is_always_open() -> None:
    always = Teams.parse("default_team: x\nteams: [{id: x, name: X}]\n", SOURCE).teams["x"]
    night = local(2027, 12, 24, 23, 0)
    assert always.hours is None and is_open(always, night)
    assert next_opening(always, night) == night
    assert staffed_seconds(always, night, night + timedelta(hours=5)) == 5 * 3600


# ---------------------------------------------------------------------- open time (the SLA)
def test_open_seconds_skip_nights_weekends_and_holidays(team: Team) -> None:
    hours = 3600.0
    friday_evening = local(2027, 3, 5, 14, 0)  # Friday closes at 15:00
    assert staffed_seconds(team, friday_evening, local(2027, 3, 8, 7, 59)) == 1 * hours
    assert staffed_seconds(team, friday_evening, local(2027, 3, 8, 10, 0)) == 3 * hours
    overnight = local(2027, 3, 9, 16, 0)
    assert staffed_seconds(team, overnight, local(2027, 3, 10, 8, 0)) == 0.5 * hours
    # Maundy Thursday 16:00 to the Tuesday after Easter, 09:00: Good Friday, the weekend and
    # Easter Monday are closed, and the clocks went forward on the Sunday.
    assert staffed_seconds(team, local(2027, 3, 25, 16, 0),
                           local(2027, 3, 30, 9, 0)) == 1.5 * hours
    assert staffed_seconds(team, local(2027, 3, 10, 9, 0), local(2027, 3, 10, 9, 0)) == 0


def test_a_day_open_around_the_clock_lasts_23_and_25_hours_on_the_switch_nights(
        teams: Teams) -> None:
    sunday = teams.teams["c"]  # open on Sundays 00:00-24:00 (2027's spring switch is Easter)
    assert staffed_seconds(sunday, local(2026, 3, 28, 12, 0), local(2026, 3, 30, 12, 0)) \
        == 23 * 3600
    assert staffed_seconds(sunday, local(2027, 10, 30, 12, 0), local(2027, 11, 1, 12, 0)) \
        == 25 * 3600
    assert is_open(sunday, local(2026, 3, 29, 2, 30)) and not is_open(sunday, local(2026, 3, 30))
    assert not is_open(sunday, local(2027, 3, 28, 12, 0))  # Easter Sunday


def test_over_sla_counts_open_time_only(teams: Teams) -> None:
    created = local(2027, 3, 5, 14, 30).timestamp()  # Friday: 30 minutes before closing
    monday = local(2027, 3, 8, 11, 29).timestamp()   # 30 + 209 minutes open
    assert not teams.over_sla("a", created, monday)
    assert teams.over_sla("a", created, monday + 120)  # 241 minutes
    assert teams.waited("a", created, monday) == 239 * 60


# ---------------------------------------------------------------------- closed dates
def test_closed_dates_and_a_teams_own_hours(teams: Teams) -> None:
    a, b = teams.teams["a"], teams.teams["b"]
    assert not is_open(a, local(2027, 1, 7, 10, 0))     # the file's closed date
    assert is_open(b, local(2027, 5, 22, 11, 0))         # its own hours: Saturdays
    assert not is_open(b, local(2027, 5, 1, 11, 0))      # (but not on May Day)
    assert not is_open(b, local(2027, 5, 3, 11, 0))      # ... only
    assert not is_open(b, local(2027, 5, 8, 11, 0))      # its own closed range
    assert not is_open(b, local(2027, 5, 15, 11, 0))     # (inclusive)
    assert next_opening(b, local(2027, 5, 8, 9, 0)) == local(2027, 5, 22, 10, 0)
    assert b.hours is not None and date(2027, 1, 7) in b.hours.closed_dates  # and the file's


def test_the_shipped_and_the_test_configuration_load() -> None:
    shipped = Teams.load(ROOT / "config" / "teams.yml")
    assert all(t.hours is not None for t in shipped.teams.values())
    fixture = Teams.load(ROOT / "tests" / "fixtures" / "config" / "teams.yml")
    assert [t.id for t in fixture.teams.values() if t.hours is not None] == ["jobbtorg-vallingby"]


# ---------------------------------------------------------------------- validation
def broken(old: str, new: str) -> TeamsError:
    assert old in HOURS
    with pytest.raises(TeamsError) as raised:
        Teams.parse(HOURS.replace(old, new, 1), SOURCE)
    return raised.value


@pytest.mark.parametrize(("old", "new", "line", "field", "says"), [
    ('tue: ["08:00-12:00", "13:00-16:30"]', 'tue: ["8-12"]', 5, "hours.tue",
     "is not an interval like"),
    ('wed: ["08:00-12:00", "13:00-16:30"]', 'wed: ["12:00-08:00"]', 6, "hours.wed",
     "ends before it starts"),
    ('thu: ["08:00-12:00", "13:00-16:30"]', 'thu: ["08:00-12:00", "11:00-16:30"]', 7,
     "hours.thu", "overlap"),
    ('fri: ["08:00-12:00", "13:00-15:00"]', 'fre: ["08:00-12:00"]', 8, "hours.fre",
     "unknown weekday"),
    ('fri: ["08:00-12:00", "13:00-15:00"]', 'fri: ["08:00-25:00"]', 8, "hours.fri",
     "not a time of day"),
    ("closed_dates: [2027-01-07]", "closed_dates: [2027-13-07]", 9, "closed_dates",
     "is not a date"),
    ("closed_dates: [2027-01-07]", 'closed_dates: ["2027-02-01..2027-01-01"]', 9,
     "closed_dates", "must end after it starts"),
    ('      sat: ["10:00-14:00"]', '      sat: "ten to two"', 18, "hours.sat",
     "is not an interval"),
    ('    closed_dates: ["2027-05-08..2027-05-15"]', '    closed_dates: "May"', 19,
     "closed_dates", "must be a list"),
    ('    hours:\n      sun: ["00:00-24:00"]', "    hours: {sun: []}", 23, "hours",
     "no open interval"),
])
def test_a_mistake_names_the_line_and_the_field(old: str, new: str, line: int, field: str,
                                                says: str) -> None:
    error = broken(old, new)
    assert (error.line, error.field) == (line, field), str(error)
    assert str(error).startswith(f"{SOURCE}:{line}: ") and says in str(error)
    if line > 10:  # inside a team: its index and id are named too
        assert "teams[" in str(error)


def test_closed_dates_without_any_hours_are_refused() -> None:
    text = "default_team: x\nteams:\n  - id: x\n    name: X\n    closed_dates: [2027-01-07]\n"
    with pytest.raises(TeamsError, match=r"teams.yml:5: teams\[0\] \(x\): closed_dates "
                                         r"without hours") as raised:
        Teams.parse(text, SOURCE)
    assert raised.value.field == "closed_dates"


def test_the_gateway_start_names_the_mistake(tmp_path: Path) -> None:
    path = tmp_path / "teams.yml"
    path.write_text(HOURS.replace('"13:00-15:00"]', '"13:00-15"]'), encoding="utf-8")
    with pytest.raises(TeamsError, match=rf"^{path}:8: hours.fri: '13:00-15' is not an "):
        Teams.load(path)


# ---------------------------------------------------------------------- presence, staffing
TUESDAY_TEN = local(2027, 3, 30, 10, 0)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(TUESDAY_TEN)


@pytest.fixture
def presence(redis: Redis, prefix: str, clock: FixedClock) -> Presence:
    return Presence(redis=redis, keys=Keys(prefix), clock=clock)


async def test_presence_lasts_30_minutes_after_the_last_activity(
        presence: Presence, clock: FixedClock) -> None:
    await presence.arrive("anna", ["a", "b"], chosen=False)
    assert await presence.anyone("a") and await presence.anyone("b")
    assert not await presence.anyone("c")
    clock.now = TUESDAY_TEN + timedelta(minutes=20)
    await presence.refresh("anna", ["a", "b"])  # a claim, a reply: activity
    clock.now = TUESDAY_TEN + timedelta(minutes=49)
    assert await presence.anyone("a")
    clock.now = TUESDAY_TEN + timedelta(minutes=51)
    assert not await presence.anyone("a")
    await presence.refresh("anna", ["a"])  # once away, activity alone does not bring back
    assert not (await presence.state("anna", ["a"])).present


async def test_a_chosen_away_holds_until_the_coach_chooses_again(
        presence: Presence, clock: FixedClock) -> None:
    await presence.arrive("anna", ["a"], chosen=True)
    state = await presence.state("anna", ["a"])
    assert state.present and not state.away
    assert state.until == (TUESDAY_TEN + timedelta(minutes=30)).timestamp()
    await presence.leave("anna", ["a"], chosen=True)
    await presence.arrive("anna", ["a"], chosen=False)  # the panel's own report
    state = await presence.state("anna", ["a"])
    assert (state.present, state.away) == (False, True) and not await presence.anyone("a")
    await presence.arrive("anna", ["a"], chosen=True)
    assert (await presence.state("anna", ["a"])).present and await presence.anyone("a")
    await presence.leave("anna", ["a"], chosen=False)  # logged out: not a chosen away
    state = await presence.state("anna", ["a"])
    assert (state.present, state.away) == (False, False)


async def test_tuesday_at_ten_with_nobody_present_and_with_a_coach(
        teams: Teams, presence: Presence) -> None:
    """Open but nobody at the panel: not staffed; a coach can answer today before the day's
    closing (16:30), or else from the next opening (Wednesday 08:00)."""
    staffing = Staffing(presence)
    team = teams.teams["a"]
    outlook = await staffing.outlook(team, TUESDAY_TEN)
    assert (outlook.staffed, outlook.known) == (False, True)
    assert outlook.today_until == local(2027, 3, 30, 16, 30)
    assert outlook.opens == local(2027, 3, 31, 8, 0)
    await presence.arrive("anna", ["a"], chosen=False)
    assert (await staffing.outlook(team, TUESDAY_TEN)).staffed
    # Closed (lunch): the next opening only, present or not.
    lunch = await staffing.outlook(team, local(2027, 3, 30, 12, 30))
    assert (lunch.staffed, lunch.opens, lunch.today_until) == (
        False, local(2027, 3, 30, 13, 0), None)


async def test_before_the_team_is_known_any_team_that_may_get_the_lead_counts(
        teams: Teams, presence: Presence) -> None:
    staffing = Staffing(presence)
    saturday = local(2027, 5, 22, 11, 0)  # team b is open on Saturdays; a and c are not
    farsta = teams.candidates("Farsta")
    assert [t.id for t in farsta] == ["b", "c"]
    best = await staffing.best(farsta, saturday)
    assert (best.staffed, best.today_until) == (False, local(2027, 5, 22, 14, 0))
    await presence.arrive("bo", ["b"], chosen=False)
    assert (await staffing.best(farsta, saturday)).staffed
    rinkeby = await staffing.best(teams.candidates("Rinkeby"), saturday)
    assert (rinkeby.staffed, rinkeby.opens) == (False, local(2027, 5, 24, 8, 0))
    assert [t.id for t in teams.candidates(None)] == ["a", "b", "c"]
