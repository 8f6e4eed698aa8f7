"""What the coach panel's campaign page needs besides the campaign routes themselves (those are
bot/runtime/campaigns_api.py under /coach/api/campaigns): the choices for an audience, and
the live cost of each text while the operator writes it. Operators only.

  GET  /coach/api/outreach           topics, districts, channels that can send now, languages
  POST /coach/api/outreach/segments  {"texts": {"sv": "...", ...}} -> characters and paid
                                     segments per language and channel (changes nothing)
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from bot.coach.accounts import Coach, Role
from bot.coach.guard import SessionGuard
from bot.core.content import Content
from bot.core.i18n import LanguageTable
from bot.core.outreach.drafts import MAX_NAME_CHARS, MAX_TEXT_CHARS
from bot.core.outreach.service import CampaignService
from bot.core.outreach.subscriptions import TOPICS
from bot.http import bad_request, json_object

OPERATOR_LANGUAGE = "sv"  # the panel is in Swedish


class OutreachPanel:
    def __init__(self, campaigns: CampaignService, content: Content, languages: LanguageTable,
                 districts: list[str], guard: SessionGuard) -> None:
        self.campaigns = campaigns
        self.content = content
        self.languages = languages
        self.districts = districts
        self.guard = guard

    def routes(self) -> list[web.AbstractRouteDef]:
        return [web.get("/coach/api/outreach", self.guard(self.options, role=Role.OPERATOR)),
                web.post("/coach/api/outreach/segments",
                         self.guard(self.segments, csrf=True, role=Role.OPERATOR))]

    async def options(self, request: web.Request, coach: Coach) -> web.Response:
        content, languages = self.content, self.languages
        return web.json_response({
            "topics": [{"id": topic, "name": content.button(f"/sub:topic:{topic}",
                                                            OPERATOR_LANGUAGE).title}
                       for topic in TOPICS],
            "districts": self.districts,
            "channels": self.campaigns.channels,
            "languages": [{"code": code, "native": languages.languages[code].native,
                           "dir": languages.languages[code].direction}
                          for code in languages.enabled],
            "max_name_chars": MAX_NAME_CHARS, "max_text_chars": MAX_TEXT_CHARS})

    async def segments(self, request: web.Request, coach: Coach) -> web.Response:
        texts = (await json_object(request)).get("texts")
        enabled = self.languages.enabled
        if not isinstance(texts, Mapping) or not all(
                language in enabled and isinstance(text, str) and len(text) <= MAX_TEXT_CHARS * 2
                for language, text in texts.items()):
            raise bad_request('Send {"texts": {"<language>": "<text>", ...}} with enabled '
                              f"languages ({', '.join(enabled)}) and texts.")
        costs = self.campaigns.costs(texts)
        return web.json_response({"texts": {
            language: {"characters": len(text.strip()), "segments": costs[language]}
            for language, text in texts.items()}})
