"""The notices in Redis: one key per notice that expires at its end time, and an index of ids by
end time. Both expire by themselves: nothing has to remember to take a notice down.

Expiry is sent as a duration from the injected clock (bot/core/clock.py `ttl_until`), and every
read also drops notices whose end time has passed by that clock, so a notice is gone at its end
time as the core counts time, whatever Redis's own date is.

The notices are read for every reply on a channel that sends them with the next reply, so this
process keeps the list in memory for `cache_seconds` (a duration, not the date): a post or a
delete here is seen at once, one in another process within that time.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from bot.core import batch, json_codec
from bot.core.clock import Clock, ttl_until
from bot.core.handover.teams import Teams
from bot.core.keys import Erasure, Keys, Owner, declare
from bot.core.notices.model import MAX_ACTIVE, MAX_DAYS_AHEAD, Draft, Notice, NoticeError
from bot.core.redis_types import StrRedis

NOTICE = declare("notice:{id}", owner=Owner.STAFF, expiry="the notice's end time (at most "
                 f"{MAX_DAYS_AHEAD} days)", erasure=Erasure.EXPIRES,
                 note="a notice the city posted: its texts, teams, districts, end time and the "
                      "operator's username; nothing about a citizen")
NOTICES = declare("notices", owner=Owner.SYSTEM, expiry=f"{MAX_DAYS_AHEAD} days after the "
                  "last post (longer than any notice in it)", erasure=Erasure.NOT_PERSONAL,
                  note="notice ids by end time")
INDEX_SECONDS = (MAX_DAYS_AHEAD + 1) * 24 * 3600


@dataclass(frozen=True)
class Shown:
    """A notice as one person sees it: in their language, or the fallback's."""

    id: str
    text: str
    language: str
    ends_at: float


class NoticeBoard:
    def __init__(self, *, redis: StrRedis, keys: Keys, clock: Clock, teams: Teams,
                 fallback: str, cache_seconds: float = 5.0) -> None:
        self.redis = redis
        self.keys = keys
        self.clock = clock
        self.teams = teams
        self.fallback = fallback  # the language of the text shown when a person's has none
        self.cache_seconds = cache_seconds
        self._cached: tuple[float, list[Notice]] | None = None  # (monotonic time, notices)

    def _key(self, notice_id: str) -> str:
        return self.keys(NOTICE, id=notice_id)

    async def post(self, draft: Draft, by: str) -> Notice:
        """Store a checked draft as a live notice (409 when `MAX_ACTIVE` are live already)."""
        now = self.clock().timestamp()
        index = self.keys(NOTICES)
        if len(await self.current(now, cached=False)) >= MAX_ACTIVE:
            raise NoticeError(f"{MAX_ACTIVE} notices are live already; delete one first.",
                              status=409)
        notice = Notice(id=secrets.token_hex(6), texts=draft.texts, teams=draft.teams,
                        districts=draft.districts, ends_at=draft.ends_at, created_by=by,
                        created_at=now)
        await batch.run(self.redis, [
            ("SET", self._key(notice.id), json_codec.dumps(notice.to_json()),
             "EX", ttl_until(notice.ends_at, self.clock)),
            ("ZADD", index, notice.ends_at, notice.id),
            ("ZREMRANGEBYSCORE", index, "-inf", now),
            ("EXPIRE", index, INDEX_SECONDS)])
        self._cached = None
        return notice

    async def delete(self, notice_id: str) -> Notice | None:
        """Take a notice down before its end; the notice, or None if it was not live."""
        live = next((n for n in await self.current(self.clock().timestamp(), cached=False)
                     if n.id == notice_id), None)
        if live is not None:
            await batch.run(self.redis, [("DEL", self._key(notice_id)),
                                         ("ZREM", self.keys(NOTICES), notice_id)])
        self._cached = None
        return live

    async def current(self, now: float, *, cached: bool = True) -> list[Notice]:
        """Every live notice at `now` (by the injected clock), the one ending first first."""
        notices = await self._read(now, cached)
        return [notice for notice in notices if notice.ends_at > now]

    async def active(self, now: float, language: str,
                     district: str | None = None) -> list[Shown]:
        """The notices live at `now` for a person in `district` (None: not known, so every
        one), each in `language` or else in the fallback language."""
        shown = []
        for notice in await self.current(now):
            if notice.applies_to(district, self.teams):
                code, text = notice.text_in(language, self.fallback)
                shown.append(Shown(notice.id, text, code, notice.ends_at))
        return shown

    async def _read(self, now: float, cached: bool) -> list[Notice]:
        moment = time.monotonic()
        if cached and self._cached is not None and moment - self._cached[0] < self.cache_seconds:
            return self._cached[1]
        ids = await self.redis.zrangebyscore(self.keys(NOTICES), f"({now}", "+inf")
        raw = await self.redis.mget([self._key(i) for i in ids]) if ids else []
        notices = [Notice.from_json(json_codec.loads(item)) for item in raw if item]
        self._cached = (moment, notices)
        return notices
