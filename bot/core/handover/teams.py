"""Coach teams from `config/teams.yml`: the routing of a lead (district + age group), each team's
opening hours (bot/core/hours/), and the SLA, which counts the team's open time only.

Read with the line of every entry, so a mistake stops the start naming the file, the line and
the field (like config/dropin.yml's loader)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path

import yaml

from bot.core.hours.config import HoursError, KeyLineLoader, line_of, opening_hours
from bot.core.hours.week import OpeningHours, staffed_seconds
from bot.core.places import LINE, fold, yaml_line

AGE_GROUPS = ("16-19", "20-29", "30+")


class TeamsError(ValueError):
    """teams.yml is invalid; the message names the file and line, `line` and `field` say them
    apart."""

    def __init__(self, message: str, line: int | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.line, self.field = line, field


@dataclass(frozen=True)
class Team:
    id: str
    name: str
    districts: tuple[str, ...]
    age_groups: tuple[str, ...]
    hours: OpeningHours | None = None  # None: no hours configured, always staffed


@dataclass(eq=False)
class Teams:
    """The teams. Its fields change only through `adopt` (a published edit of teams.yml in the
    content workspace, bot/core/workspace/facts.py)."""

    teams: dict[str, Team]
    default_team: str
    sla_seconds: int
    claim_timeout_seconds: int
    response_hours: int
    sample: bool

    @classmethod
    def load(cls, path: Path) -> Teams:
        return cls.parse(path.read_text(encoding="utf-8"), str(path))

    @classmethod
    def parse(cls, text: str, source: str) -> Teams:
        """The teams in `text` (a teams.yml); `source` names it in errors."""
        try:
            data = yaml.load(text, Loader=KeyLineLoader) or {}
        except yaml.YAMLError as exc:
            line = yaml_line(exc)
            raise TeamsError(f"{source}:{line}: not valid YAML: {exc}" if line else
                             f"{source}: not valid YAML: {exc}", line) from exc
        if not isinstance(data, Mapping):
            raise TeamsError(f"{source}: expected a mapping at the top", 1)
        try:
            opening_hours(data, {})  # the default hours and closed dates, checked once
        except HoursError as exc:
            raise TeamsError(f"{source}:{exc.line or 1}: {exc}", exc.line, exc.field) from exc
        entries = data.get("teams") or []
        if not isinstance(entries, list):
            raise TeamsError(f"{source}:{line_of(data, 'teams')}: 'teams' must be a list",
                             line_of(data, "teams"), "teams")
        teams: dict[str, Team] = {}
        for index, entry in enumerate(entries):
            team = _team(source, index, entry, data)
            unknown = set(team.age_groups) - set(AGE_GROUPS)
            if unknown or team.id in teams or ":" in team.id:
                line = entry.get(LINE)
                raise TeamsError(f"{source}:{line}: teams[{index}] ({team.id}): duplicate id, "
                                 f"':' in id, or unknown age groups {sorted(unknown)}",
                                 line, "id" if not unknown else "age_groups")
            teams[team.id] = team
        default = str(data.get("default_team", ""))
        if default not in teams:
            line = line_of(data, "default_team")
            raise TeamsError(f"{source}:{line}: default_team {default!r} is not one of the teams",
                             line, "default_team")
        return cls(teams=teams, default_team=default,
                   sla_seconds=round(float(data.get("sla_minutes", 240)) * 60),
                   claim_timeout_seconds=round(float(data.get("claim_timeout_minutes", 60)) * 60),
                   response_hours=int(data.get("response_hours", 24)),
                   sample=bool(data.get("sample", False)))

    def adopt(self, other: Teams) -> None:
        """Take `other`'s contents in place: every holder of this object sees them at once
        (the `teams` dict is replaced, not changed, so a loop over the old one runs to its end)."""
        for field in fields(self):
            setattr(self, field.name, getattr(other, field.name))

    def route(self, district: str | None, age_group: str | None) -> Team:
        wanted = fold(district) if district else None
        for team in self.teams.values():
            if wanted and any(fold(d) == wanted for d in team.districts) and (
                    age_group is None or age_group in team.age_groups):
                return team
        return self.teams[self.default_team]

    def candidates(self, district: str | None) -> list[Team]:
        """The teams a lead from `district` may go to, its age group not known yet (every team
        when the district is not known either)."""
        wanted = fold(district) if district else None
        found = [team for team in self.teams.values()
                 if wanted and any(fold(d) == wanted for d in team.districts)]
        return found or list(self.teams.values())

    def districts(self) -> list[str]:
        seen: dict[str, None] = {}
        for team in self.teams.values():
            for district in team.districts:
                seen.setdefault(district)
        return list(seen)

    def waited(self, team_id: str, created: float, now: float) -> float:
        """How long a lead of `team_id` has waited in the team's open time (what the SLA
        counts: no escalation overnight or over a weekend)."""
        team = self.teams.get(team_id)
        start, end = datetime.fromtimestamp(created, UTC), datetime.fromtimestamp(now, UTC)
        if team is None:
            return max(0.0, now - created)
        return staffed_seconds(team, start, end)

    def over_sla(self, team_id: str, created: float, now: float) -> bool:
        """Whether a lead created at `created` has waited longer than the SLA by `now`."""
        return self.waited(team_id, created, now) > self.sla_seconds


def _team(source: str, index: int, entry: object, data: Mapping[str, object]) -> Team:
    """teams[index], with its hours (its own, else the file's default)."""
    if not isinstance(entry, Mapping):
        raise TeamsError(f"{source}: teams[{index}] must be a mapping with id and name",
                         None, "teams")
    line = entry.get(LINE)
    number = line if isinstance(line, int) else None
    try:
        team_id, name = str(entry["id"]), str(entry["name"])
        districts = tuple(str(d) for d in entry.get("districts") or [])
        ages = tuple(str(a) for a in entry.get("age_groups") or AGE_GROUPS)
    except (KeyError, TypeError) as exc:
        raise TeamsError(f"{source}:{number}: teams[{index}] needs id and name ({exc})",
                         number, "id") from exc
    try:
        hours = opening_hours(data, entry)
        if hours is None and entry.get("closed_dates"):
            raise HoursError("closed_dates without hours: give the team (or the file) hours",
                             line_of(entry, "closed_dates"), "closed_dates")
    except HoursError as exc:
        raise TeamsError(f"{source}:{exc.line or number}: teams[{index}] ({team_id}): {exc}",
                         exc.line or number, exc.field) from exc
    return Team(id=team_id, name=name, districts=districts, age_groups=ages, hours=hours)
