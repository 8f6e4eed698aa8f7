"""Coach presence: a coach is present while their panel is open and they have not set
themselves away; 30 minutes without activity and they are away by themselves.

One sorted set per team holds its present coaches, each scored with until when (the injected
clock's time: activity moves it on). A team has someone present when a score is in the future.
Choosing "Borta" is remembered apart (for 12 hours), so the panel's own heartbeats and a reload
do not undo it; choosing "Tillgänglig" again clears it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.core.clock import Clock
from bot.core.keys import Erasure, Keys, Owner, declare
from bot.core.redis_types import StrRedis

PRESENT_SECONDS = 30 * 60
AWAY_SECONDS = 12 * 3600

PRESENCE = declare("presence:{team}", owner=Owner.STAFF,
                   expiry="30 minutes after the last activity of its coaches",
                   erasure=Erasure.EXPIRES,
                   note="usernames of the team's coaches at the panel, with until when")
PRESENCE_AWAY = declare("presence-away:{username}", owner=Owner.STAFF, expiry="12 hours",
                        erasure=Erasure.EXPIRES, note="a coach chose 'Borta' in the panel")


@dataclass(frozen=True)
class PresenceState:
    """A coach's own presence, as the panel shows it."""

    present: bool
    away: bool            # they chose "Borta" (the panel's heartbeats do not undo it)
    until: float | None   # present until (the clock's timestamp), if present


class Presence:
    def __init__(self, *, redis: StrRedis, keys: Keys, clock: Clock,
                 present_seconds: int = PRESENT_SECONDS) -> None:
        self.redis = redis
        self.keys = keys
        self.clock = clock
        self.present_seconds = present_seconds

    def _now(self) -> float:
        return self.clock().timestamp()

    async def arrive(self, username: str, teams: Iterable[str], *, chosen: bool) -> None:
        """Present for the next 30 minutes. `chosen`: the coach pressed "Tillgänglig" (it
        clears "Borta"); else it is the panel's own heartbeat, which does nothing while the
        coach is away by choice."""
        away = self.keys(PRESENCE_AWAY, username=username)
        if chosen:
            await self.redis.delete(away)
        elif await self.redis.exists(away):
            return
        until = self._now() + self.present_seconds
        async with self.redis.pipeline(transaction=True) as pipe:
            for team in teams:
                key = self.keys(PRESENCE, team=team)
                pipe.zadd(key, {username: until})
                pipe.expire(key, self.present_seconds)
            await pipe.execute()

    async def leave(self, username: str, teams: Iterable[str], *, chosen: bool) -> None:
        """Not present. `chosen`: the coach pressed "Borta" (remembered); else the panel closed
        or they logged out."""
        async with self.redis.pipeline(transaction=True) as pipe:
            for team in teams:
                pipe.zrem(self.keys(PRESENCE, team=team), username)
            if chosen:
                pipe.set(self.keys(PRESENCE_AWAY, username=username), "1", ex=AWAY_SECONDS)
            await pipe.execute()

    async def _until(self, username: str, teams: Iterable[str]) -> float | None:
        """Until when `username` is present (the latest of their teams'), None if not now."""
        until: float | None = None
        for team in teams:
            for member, score in await self.redis.zrangebyscore(
                    self.keys(PRESENCE, team=team), f"({self._now()}", "+inf",
                    withscores=True):
                if member == username:
                    until = max(until or 0.0, float(score))
        return until

    async def refresh(self, username: str, teams: Iterable[str]) -> None:
        """Activity of a coach who is present keeps them present (no effect otherwise)."""
        teams = list(teams)
        if await self._until(username, teams) is not None:
            await self.arrive(username, teams, chosen=False)

    async def state(self, username: str, teams: Iterable[str]) -> PresenceState:
        until = await self._until(username, teams)
        away = bool(await self.redis.exists(self.keys(PRESENCE_AWAY, username=username)))
        return PresenceState(present=until is not None, away=away, until=until)

    async def anyone(self, team: str) -> bool:
        """Whether someone of `team` is present now."""
        key = self.keys(PRESENCE, team=team)
        return bool(await self.redis.zrangebyscore(key, f"({self._now()}", "+inf", 0, 1))
