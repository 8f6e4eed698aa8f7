"""Coach teams from `config/teams.yml` and the routing of a lead (district + age group)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.core.places import fold

AGE_GROUPS = ("16-19", "20-29", "30+")


class TeamsError(ValueError):
    pass


@dataclass(frozen=True)
class Team:
    id: str
    name: str
    districts: tuple[str, ...]
    age_groups: tuple[str, ...]


@dataclass(frozen=True)
class Teams:
    teams: dict[str, Team]
    default_team: str
    sla_seconds: int
    claim_timeout_seconds: int
    response_hours: int
    sample: bool

    @classmethod
    def load(cls, path: Path) -> Teams:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        teams: dict[str, Team] = {}
        for index, entry in enumerate(data.get("teams") or []):
            try:
                team = Team(id=str(entry["id"]), name=str(entry["name"]),
                            districts=tuple(str(d) for d in entry.get("districts") or []),
                            age_groups=tuple(str(a) for a in entry.get("age_groups") or AGE_GROUPS))
            except (KeyError, TypeError) as exc:
                raise TeamsError(f"{path}: teams[{index}] needs id and name ({exc})") from exc
            unknown = set(team.age_groups) - set(AGE_GROUPS)
            if unknown or team.id in teams or ":" in team.id:
                raise TeamsError(f"{path}: teams[{index}] ({team.id}): duplicate id, ':' in id, "
                                 f"or unknown age groups {sorted(unknown)}")
            teams[team.id] = team
        default = str(data.get("default_team", ""))
        if default not in teams:
            raise TeamsError(f"{path}: default_team {default!r} is not one of the teams")
        return cls(teams=teams, default_team=default,
                   sla_seconds=round(float(data.get("sla_minutes", 240)) * 60),
                   claim_timeout_seconds=round(float(data.get("claim_timeout_minutes", 60)) * 60),
                   response_hours=int(data.get("response_hours", 24)),
                   sample=bool(data.get("sample", False)))

    def route(self, district: str | None, age_group: str | None) -> Team:
        wanted = fold(district) if district else None
        for team in self.teams.values():
            if wanted and any(fold(d) == wanted for d in team.districts) and (
                    age_group is None or age_group in team.age_groups):
                return team
        return self.teams[self.default_team]

    def districts(self) -> list[str]:
        seen: dict[str, None] = {}
        for team in self.teams.values():
            for district in team.districts:
                seen.setdefault(district)
        return list(seen)
