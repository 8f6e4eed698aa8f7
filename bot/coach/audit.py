"""The staff audit log: who opened or acted on whose data, and when; never what was written.

One Redis stream; an entry's id is its time in milliseconds, so keeping `audit_days` is one
`XTRIM MINID` on each write (no sweeper). An entry holds the coach's username, the action,
what it was done to (a lead id, a location and day) and the team; lead ids point to nothing
once the person's data is erased or expired, so the log keeps no personal data of theirs.
Operators read it in the panel (`GET /coach/api/audit`) and export it as CSV.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum

from aiohttp import web

from bot.coach.accounts import Coach, Role
from bot.coach.guard import SessionGuard
from bot.core.keys import Erasure, Keys, Owner, declare
from bot.core.redis_types import StrRedis
from bot.http import bad_request


class AuditAction(StrEnum):
    """What a staff member did (the word stored in the entry)."""

    LOGIN = "login"
    LEAD_VIEW = "lead_view"
    LEAD_CLAIM = "lead_claim"
    LEAD_MESSAGE = "lead_message"
    LEAD_CLOSE = "lead_close"
    BOOKINGS_VIEW = "bookings_view"
    BOOKINGS_EXPORT = "bookings_export"
    ATTENDANCE = "attendance"
    AUDIT_EXPORT = "audit_export"
    CONTENT_EDIT = "content_edit"
    CONTENT_PUBLISH = "content_publish"  # an approval: the draft is live
    CONTENT_DISCARD = "content_discard"
    CONTENT_ROLLBACK = "content_rollback"
    CONTENT_EXPORT = "content_export"
    CONTENT_IMPORT = "content_import"
    NOTICE_POST = "notice_post"      # a notice the city shows (the target: its id)
    NOTICE_DELETE = "notice_delete"  # taken down before its end time
    SUBJECT_ACCESS = "subject_access"  # a copy of a person's data made for a formal request


CSV_FIELDS = ("at", "coach", "action", "target", "team")

AUDIT = declare("audit", owner=Owner.STAFF, expiry="entries older than LOTSEN_AUDIT_DAYS "
                "are trimmed on each write", erasure=Erasure.KEPT,
                note="staff usernames, actions, lead ids and locations; no content")


@dataclass(frozen=True)
class AuditEntry:
    at: str      # ISO time (UTC)
    coach: str
    action: str
    target: str
    team: str


class AuditLog:
    def __init__(self, *, redis: StrRedis, keys: Keys, keep_days: int,
                 clock: Callable[[], float] = time.time) -> None:
        self.redis = redis
        self.key = keys(AUDIT)
        self.keep_ms = keep_days * 24 * 3600 * 1000
        self.clock = clock

    async def record(self, coach: str, action: AuditAction, target: str = "",
                     team: str = "") -> None:
        action = AuditAction(action)  # an unknown word is a ValueError, as before
        now_ms = int(self.clock() * 1000)
        async with self.redis.pipeline(transaction=False) as pipe:
            # "<ms>-*": Redis picks the sequence number; the id is the entry's time.
            pipe.xadd(self.key, {"coach": coach, "action": action, "target": target,
                                 "team": team}, id=f"{now_ms}-*")
            pipe.xtrim(self.key, minid=str(now_ms - self.keep_ms), approximate=False)
            await pipe.execute()

    async def entries(self, *, since: float | None = None, until: float | None = None,
                      coach: str | None = None, limit: int = 1000) -> list[AuditEntry]:
        """Newest first, between `since` and `until` (timestamps), of one coach if named."""
        high = f"{int(until * 1000)}" if until is not None else "+"
        low = f"{int(since * 1000)}" if since is not None else "-"
        found: list[AuditEntry] = []
        last = high
        while len(found) < limit:
            batch = await self.redis.xrevrange(self.key, max=last, min=low, count=500)
            if not batch:
                break
            for entry_id, fields in batch:
                if coach is None or fields.get("coach") == coach:
                    found.append(self._entry(entry_id, fields))
            if len(batch) < 500:
                break
            last = "(" + str(batch[-1][0])
        return found[:limit]

    @staticmethod
    def _entry(entry_id: str, fields: dict[str, str]) -> AuditEntry:
        millis = int(str(entry_id).split("-")[0])
        at = datetime.fromtimestamp(millis / 1000, UTC).isoformat(timespec="seconds")
        return AuditEntry(at, fields.get("coach", ""), fields.get("action", ""),
                          fields.get("target", ""), fields.get("team", ""))

    @staticmethod
    def as_csv(entries: list[AuditEntry]) -> str:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS)
        writer.writeheader()
        writer.writerows(asdict(entry) for entry in entries)
        return buffer.getvalue()


class AuditRoutes:
    """`GET /coach/api/audit` (JSON) and `/coach/api/audit.csv`, operators only; optional
    `coach=USERNAME`, `from=` and `to=` (ISO dates or times, UTC when no offset)."""

    def __init__(self, log: AuditLog, guard: SessionGuard) -> None:
        self.log = log
        self.guard = guard

    def routes(self) -> list[web.AbstractRouteDef]:
        return [web.get("/coach/api/audit", self.guard(self.as_json, role=Role.OPERATOR)),
                web.get("/coach/api/audit.csv", self.guard(self.as_csv, role=Role.OPERATOR))]

    async def _entries(self, request: web.Request) -> list[AuditEntry]:
        query = request.query
        bounds: list[float | None] = []
        for name in ("from", "to"):
            raw = query.get(name)
            if not raw:
                bounds.append(None)
                continue
            try:
                when = datetime.fromisoformat(raw)
            except ValueError:
                raise bad_request(f'"{name}" must be an ISO date or time, like 2026-11-24.') \
                    from None
            bounds.append((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp())
        return await self.log.entries(since=bounds[0], until=bounds[1],
                                      coach=query.get("coach") or None)

    async def as_json(self, request: web.Request, coach: Coach) -> web.Response:
        entries = await self._entries(request)
        return web.json_response({"entries": [asdict(entry) for entry in entries]})

    async def as_csv(self, request: web.Request, coach: Coach) -> web.Response:
        entries = await self._entries(request)
        await self.log.record(coach.username, AuditAction.AUDIT_EXPORT)
        return web.Response(text=self.as_csv_text(entries), content_type="text/csv", headers={
            "Content-Disposition": 'attachment; filename="lotsen-audit.csv"'})

    as_csv_text = staticmethod(AuditLog.as_csv)
