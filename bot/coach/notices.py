"""The notice routes of the staff panel (spec §8 "Hours and notices"), operators only, each
change with the session's CSRF token and an audit entry naming the notice's id (never its text):

  GET    /coach/api/notices        the live notices, and what the editor offers (languages,
                                   teams, districts, limits, the server's time)
  POST   /coach/api/notices        {"texts": {"sv": "...", ...}, "teams": [...],
                                    "districts": [...], "ends_at": "<ISO 8601>"} -> 201 {"id"}
                                   (400 {"error", "field"} naming what to fix)
  DELETE /coach/api/notices/{id}   taken down now (404 when it is not live)

A time without a UTC offset is Stockholm time. The notices themselves live in bot/core/notices.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot.coach.accounts import Coach, Role
from bot.coach.audit import AuditAction, AuditLog
from bot.coach.guard import SessionGuard
from bot.core.dialogue import DialogueEngine
from bot.core.i18n import LanguageTable
from bot.core.notices.board import NoticeBoard
from bot.core.notices.flow import notice_board
from bot.core.notices.model import MAX_DAYS_AHEAD, MAX_TEXT_CHARS, Notice, NoticeError, read_notice
from bot.http import error, json_object

CoachHandler = Callable[[web.Request, Coach], Awaitable[web.StreamResponse]]


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")


class NoticeRoutes:
    def __init__(self, board: NoticeBoard, guard: SessionGuard, audit: AuditLog,
                 languages: LanguageTable, districts: list[str]) -> None:
        self.board = board
        self.guard = guard
        self.audit = audit
        self.languages = languages
        self.districts = districts

    @classmethod
    def for_engine(cls, engine: DialogueEngine, guard: SessionGuard, audit: AuditLog,
                   districts: list[str]) -> NoticeRoutes:
        """The routes over the engine's notice board (the one its notice flow sends from)."""
        board = notice_board(engine.flows)
        if board is None:
            raise RuntimeError("the engine has no notice flow (bot/runtime/wiring.py)")
        return cls(board, guard, audit, engine.languages, districts)

    def routes(self) -> list[web.AbstractRouteDef]:
        def operator(handler: CoachHandler, changes: bool = False) -> Any:
            return self.guard(self._refusals(handler), csrf=changes, role=Role.OPERATOR)
        return [web.get("/coach/api/notices", operator(self.listed)),
                web.post("/coach/api/notices", operator(self.post, True)),
                web.delete("/coach/api/notices/{id}", operator(self.delete, True))]

    @staticmethod
    def _refusals(handler: CoachHandler) -> CoachHandler:
        async def refusing(request: web.Request, coach: Coach) -> web.StreamResponse:
            try:
                return await handler(request, coach)
            except NoticeError as exc:
                body = {"error": exc.message}
                if exc.field:
                    body["field"] = exc.field
                return web.json_response(body, status=exc.status)
        return refusing

    def _now(self) -> float:
        return self.board.clock().timestamp()

    def _json(self, notice: Notice, now: float) -> dict[str, Any]:
        teams = self.board.teams.teams
        return {"id": notice.id, "texts": notice.texts,
                "teams": [{"id": t, "name": teams[t].name if t in teams else t}
                          for t in notice.teams],
                "districts": list(notice.districts), "ends_at": iso(notice.ends_at),
                "seconds_left": max(0, int(notice.ends_at - now)),
                "created_by": notice.created_by, "created_at": iso(notice.created_at)}

    async def listed(self, request: web.Request, coach: Coach) -> web.Response:
        now = self._now()
        languages = self.languages
        return web.json_response({
            "notices": [self._json(n, now) for n in await self.board.current(now, cached=False)],
            "options": {
                "languages": [{"code": code, "native": languages.languages[code].native,
                               "dir": languages.languages[code].direction}
                              for code in languages.enabled],
                "required": self.board.fallback,
                "teams": [{"id": team.id, "name": team.name}
                          for team in self.board.teams.teams.values()],
                "districts": self.districts, "max_text_chars": MAX_TEXT_CHARS,
                "max_days_ahead": MAX_DAYS_AHEAD, "now": iso(now)}})

    async def post(self, request: web.Request, coach: Coach) -> web.Response:
        draft = read_notice(await json_object(request), languages=self.languages.enabled,
                            required=self.board.fallback, teams=self.board.teams,
                            districts=self.districts, now=self._now())
        notice = await self.board.post(draft, coach.username)
        await self.audit.record(coach.username, AuditAction.NOTICE_POST, notice.id,
                                ",".join(notice.teams))
        return web.json_response({"id": notice.id, "notice": self._json(notice, self._now())},
                                 status=201)

    async def delete(self, request: web.Request, coach: Coach) -> web.Response:
        notice = await self.board.delete(request.match_info["id"])
        if notice is None:
            return error(404, "No live notice has this id (it may have ended already).")
        await self.audit.record(coach.username, AuditAction.NOTICE_DELETE, notice.id,
                                ",".join(notice.teams))
        return web.json_response({"deleted": notice.id})
