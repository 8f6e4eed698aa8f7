"""The content workspace's staff routes (spec §8, operators only): list texts with their status,
preview and check an edit, save it as a draft, approve another operator's draft (publishing it
to every process), list versions and roll back. Every change is audited with the text's id,
never the text.

Facts and schedules (bot/core/workspace/facts.py) go through the same drafts, approval, versions
and rollback, with the id `facts/dropin`, `facts/locations` or `facts/teams` and the language
`facts`; their own routes read the documents, save a whole document as a draft, and say which
bookings a schedule change would take away (codes and slots, never who)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot.coach.accounts import Coach, Role
from bot.coach.audit import AuditAction, AuditLog
from bot.coach.guard import SessionGuard
from bot.core.i18n import LanguageTable
from bot.core.workspace.checks import notes
from bot.core.workspace.facts import LANGUAGE as FACTS
from bot.core.workspace.facts import Facts, document_of
from bot.core.workspace.readability import measure
from bot.core.workspace.service import ContentWorkspace, Status, TextState, WorkspaceError
from bot.http import error, json_object

MAX_LISTED = 200
SmsPreview = Callable[[str], dict[str, Any]]  # text -> {"text", "segments", "encoding"}


def iso(at: float | None) -> str | None:
    return None if at is None else datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds")


class ContentRoutes:
    def __init__(self, workspace: ContentWorkspace, guard: SessionGuard, audit: AuditLog,
                 languages: LanguageTable, sms_preview: SmsPreview) -> None:
        self.workspace = workspace
        self.guard = guard
        self.audit = audit
        self.languages = languages
        self.sms_preview = sms_preview

    def routes(self) -> list[web.AbstractRouteDef]:
        def operator(handler: Callable[[web.Request, Coach], Any], changes: bool = False) -> Any:
            return self.guard(self._refusals(handler), csrf=changes, role=Role.OPERATOR)
        return [
            web.get("/coach/api/content", operator(self.texts)),
            web.post("/coach/api/content/preview", operator(self.preview, True)),
            web.get("/coach/api/content/drafts", operator(self.drafts)),
            web.post("/coach/api/content/drafts", operator(self.propose, True)),
            web.post("/coach/api/content/drafts/{draft}/approve", operator(self.approve, True)),
            web.post("/coach/api/content/drafts/{draft}/discard", operator(self.discard, True)),
            web.get("/coach/api/content/versions", operator(self.versions)),
            web.post("/coach/api/content/rollback", operator(self.rollback, True)),
            web.get("/coach/api/content/facts", operator(self.facts_documents)),
            web.post("/coach/api/content/facts/drafts", operator(self.facts_propose, True)),
            web.post("/coach/api/content/facts/impact", operator(self.facts_impact, True)),
        ]

    @staticmethod
    def _refusals(handler: Callable[[web.Request, Coach], Any]) -> Any:
        async def refusing(request: web.Request, coach: Coach) -> web.StreamResponse:
            try:
                response: web.StreamResponse = await handler(request, coach)
                return response
            except WorkspaceError as exc:
                body: dict[str, str | int] = {"error": exc.message}
                if exc.field:
                    body["field"] = exc.field
                if exc.line is not None:
                    body["line"] = exc.line
                return web.json_response(body, status=exc.status)
        return refusing

    def _direction(self, language: str) -> str:
        known = self.languages.languages.get(language)
        return known.direction if known else "ltr"

    # ------------------------------------------------------------------ reading
    async def texts(self, request: web.Request, coach: Coach) -> web.Response:
        language = request.query.get("language", "")
        status = request.query.get("status", "")
        query = request.query.get("q", "").strip().casefold()
        if language and language not in self.workspace.languages:
            raise WorkspaceError(400, f'"language" must be one of '
                                      f'{", ".join(self.workspace.languages)}.', "language")
        if status and status not in {s.value for s in Status}:
            raise WorkspaceError(400, '"status" must be missing, draft, reviewed or stale.',
                                 "status")
        states = await self.workspace.states([language] if language else None)
        chosen = [s for s in states if (not status or s.status == status)
                  and (not query or query in s.item.id.casefold()
                       or query in s.source.casefold() or query in s.text.casefold())]
        return web.json_response({
            "texts": [self._text_json(s) for s in chosen[:MAX_LISTED]],
            "more": len(chosen) > MAX_LISTED,
            "summary": await self.workspace.summary(),
            "languages": [{"code": code, "name": self.languages.languages[code].native,
                           "direction": self._direction(code)}
                          for code in self.workspace.languages
                          if code in self.languages.languages],
            "lix_threshold": self.workspace.lix_threshold})

    def _text_json(self, state: TextState) -> dict[str, Any]:
        draft = state.draft
        return {"id": state.item.id, "language": state.language, "source": state.source,
                "text": state.text, "status": state.status.value, "version": state.version,
                "reviewed_by": state.review.by if state.review else None,
                "reviewed_at": iso(state.review.at) if state.review else None,
                "direction": self._direction(state.language), "also": list(state.item.also),
                "draft": None if draft is None else {
                    "draft": draft.draft, "author": draft.author, "text": draft.text,
                    "at": iso(draft.at)}}

    async def drafts(self, request: web.Request, coach: Coach) -> web.Response:
        states = {(s.item.id, s.language): s for s in await self.workspace.states()}
        drafts = await self.workspace.store.drafts()
        return web.json_response({"drafts": [
            {"draft": d.draft, "id": d.id, "language": d.language, "text": d.text,
             "source": states[(d.id, d.language)].source if (d.id, d.language) in states
             else "", "author": d.author, "at": iso(d.at), "origin": d.origin,
             "mine": d.author == coach.username} for d in drafts]})

    async def versions(self, request: web.Request, coach: Coach) -> web.Response:
        text_id, language = request.query.get("id", ""), request.query.get("language", "")
        if language == FACTS:
            versions = await self._facts().versions(self._document(text_id))
        else:
            versions = await self.workspace.versions(text_id, language)
        return web.json_response({"versions": [
            {**v, "at": iso(v["at"])} for v in versions]})

    # ------------------------------------------------------------------ changing
    async def _fields(self, request: web.Request, *names: str) -> list[str]:
        body = await json_object(request)
        values = []
        for name in names:
            value = body.get(name)
            if not isinstance(value, str):
                raise WorkspaceError(400, f'"{name}" is required and must be a string.', name)
            values.append(value)
        return values

    async def preview(self, request: web.Request, coach: Coach) -> web.Response:
        text_id, language, text = await self._fields(request, "id", "language", "text")
        _, problems = self.workspace.problems(text_id, language, text)
        figures = measure(text)
        return web.json_response({
            "problems": [p.to_json() for p in problems],
            "notes": notes(text_id, text, self.workspace.limits),
            "readability": {"words": figures.words, "sentences": figures.sentences,
                            "lix": round(figures.lix, 1),
                            "words_per_sentence": round(figures.words_per_sentence, 1),
                            "over_threshold": self.workspace.over_threshold(language, text)},
            "sms": self.sms_preview(text),
            "webchat": {"text": text, "direction": self._direction(language)}})

    async def propose(self, request: web.Request, coach: Coach) -> web.Response:
        text_id, language, text = await self._fields(request, "id", "language", "text")
        draft = await self.workspace.propose(text_id, language, text, coach.username)
        await self.audit.record(coach.username, AuditAction.CONTENT_EDIT,
                                f"{language}:{text_id}")
        return web.json_response({"draft": draft.draft}, status=201)

    async def approve(self, request: web.Request, coach: Coach) -> web.Response:
        draft = await self.workspace.store.draft(request.match_info["draft"])
        if draft is not None and draft.language == FACTS:
            expected = (await json_object(request, allow_empty=True)).get("expected_bookings")
            if expected is not None and (not isinstance(expected, int)
                                         or isinstance(expected, bool) or expected < 0):
                raise WorkspaceError(400, '"expected_bookings" must be a whole number.',
                                     "expected_bookings")
            version, impact = await self._facts().approve(draft, coach.username, expected)
            await self.audit.record(coach.username, AuditAction.CONTENT_PUBLISH,
                                    f"{FACTS}:{draft.id}:v{version}:"
                                    f"cancelled={len(impact.affected)}")
            return web.json_response({"id": draft.id, "language": draft.language,
                                      "version": version, "impact": impact.to_json()})
        draft, version = await self.workspace.approve(request.match_info["draft"],
                                                      coach.username)
        await self.audit.record(coach.username, AuditAction.CONTENT_PUBLISH,
                                f"{draft.language}:{draft.id}:v{version}")
        return web.json_response({"id": draft.id, "language": draft.language,
                                  "version": version})

    async def discard(self, request: web.Request, coach: Coach) -> web.Response:
        draft = await self.workspace.store.draft(request.match_info["draft"])
        if draft is None or not await self.workspace.store.discard(draft.draft):
            return error(404, "No such draft (it may have been approved or discarded).")
        await self.audit.record(coach.username, AuditAction.CONTENT_DISCARD,
                                f"{draft.language}:{draft.id}")
        return web.json_response({"id": draft.id, "language": draft.language})

    async def rollback(self, request: web.Request, coach: Coach) -> web.Response:
        body = await json_object(request)
        text_id, language, version = body.get("id"), body.get("language"), body.get("version")
        if not isinstance(text_id, str) or not isinstance(language, str):
            raise WorkspaceError(400, '"id" and "language" are required strings.', "id")
        if not isinstance(version, int) or isinstance(version, bool) or version < 0:
            raise WorkspaceError(400, '"version" must be a whole number (0 is the shipped '
                                      'text).', "version")
        if language == FACTS:
            published, impact = await self._facts().rollback(self._document(text_id), version,
                                                             coach.username)
            await self.audit.record(coach.username, AuditAction.CONTENT_ROLLBACK,
                                    f"{language}:{text_id}:v{version}->v{published}:"
                                    f"cancelled={len(impact.affected)}")
            return web.json_response({"id": text_id, "language": language,
                                      "version": published, "impact": impact.to_json()})
        published = await self.workspace.rollback(text_id, language, version, coach.username)
        await self.audit.record(coach.username, AuditAction.CONTENT_ROLLBACK,
                                f"{language}:{text_id}:v{version}->v{published}")
        return web.json_response({"id": text_id, "language": language, "version": published})

    # ------------------------------------------------------------------ facts and schedules
    def _facts(self) -> Facts:
        if self.workspace.facts is None:
            raise WorkspaceError(404, "Facts and schedules are not edited here.")
        return self.workspace.facts

    @staticmethod
    def _document(text_id: str) -> str:
        document = document_of(text_id)
        if document is None:
            raise WorkspaceError(404, f"No document has the id {text_id!r}; use facts/dropin, "
                                      "facts/locations or facts/teams.", "id")
        return document

    async def facts_documents(self, request: web.Request, coach: Coach) -> web.Response:
        return web.json_response({"documents": await self._facts().documents()})

    async def facts_propose(self, request: web.Request, coach: Coach) -> web.Response:
        body = await json_object(request)
        document, text, base = body.get("document"), body.get("yaml"), body.get("base_version")
        for name, value in (("document", document), ("yaml", text)):
            if not isinstance(value, str):
                raise WorkspaceError(400, f'"{name}" is required and must be a string.', name)
        if base is not None and (not isinstance(base, int) or isinstance(base, bool)):
            raise WorkspaceError(400, '"base_version" must be a whole number.', "base_version")
        assert isinstance(document, str) and isinstance(text, str)
        draft, impact = await self._facts().propose(document, text, coach.username, base)
        await self.audit.record(coach.username, AuditAction.CONTENT_EDIT,
                                f"{FACTS}:{draft.id}:affects={len(impact.affected)}")
        return web.json_response({"draft": draft.draft, "impact": impact.to_json()},
                                 status=201)

    async def facts_impact(self, request: web.Request, coach: Coach) -> web.Response:
        """What a document would take away, without saving anything."""
        document, text = await self._fields(request, "document", "yaml")
        _, impact = await self._facts().impact(document, text)
        return web.json_response({"impact": impact.to_json()})


