"""Whether a team is staffed now (open, and someone of it present at the panel), and if not,
when a coach can answer: what the handover tells the person.

Not staffed has two cases:
- closed now (a weekend, a holiday, a night, lunch): a coach can answer from the next opening;
- open, but nobody present: a coach can answer as soon as one is back, today before the day's
  last closing, or else from the next opening after that (the person is told both).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.core.hours.presence import Presence
from bot.core.hours.week import OpeningHours


class StaffedTeam(Protocol):
    """A team as far as staffing goes (bot/core/handover/teams.py Team)."""

    @property
    def id(self) -> str: ...

    @property
    def hours(self) -> OpeningHours | None: ...


@dataclass(frozen=True)
class Outlook:
    """`staffed`, or when a coach can answer: from `opens` (the next opening; None if the
    team opens no more within the search), and when `today_until` is set, already today
    before then if a coach comes back (open now, nobody present)."""

    staffed: bool
    opens: datetime | None = None
    today_until: datetime | None = None

    @property
    def known(self) -> bool:
        """Not staffed and a time to tell: the honest handover (else the ordinary one)."""
        return not self.staffed and self.opens is not None


STAFFED = Outlook(staffed=True)


class Staffing:
    def __init__(self, presence: Presence) -> None:
        self.presence = presence

    async def outlook(self, team: StaffedTeam, at: datetime) -> Outlook:
        hours = team.hours
        if hours is None:
            return STAFFED  # no hours configured: always staffed
        if not hours.is_open(at):
            return Outlook(staffed=False, opens=hours.next_opening(at))
        if await self.presence.anyone(team.id):
            return STAFFED
        closes = hours.closes(at)
        return Outlook(staffed=False, today_until=closes,
                       opens=hours.next_opening(closes) if closes is not None else None)

    async def best(self, teams: Sequence[StaffedTeam], at: datetime) -> Outlook:
        """The outlook of whichever of `teams` can answer first (before the team is known: any
        team that may get the lead): staffed if one is; else one open now; else the earliest
        next opening."""
        outlooks = [await self.outlook(team, at) for team in teams]
        if not outlooks or any(o.staffed for o in outlooks):
            return STAFFED
        today = [o for o in outlooks if o.today_until is not None]
        if today:
            return max(today, key=lambda o: o.today_until or at)
        known = [o for o in outlooks if o.opens is not None]
        return min(known, key=lambda o: o.opens or at) if known else outlooks[0]
