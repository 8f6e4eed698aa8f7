"""The outreach API: campaigns created as a previewed draft, sent, cancelled, followed. The
work is `CampaignService`'s, shared with `python -m bot.admin campaign ...`; this module only
maps HTTP to it. The same routes are served twice: under /api/campaigns for scripts (admin
token, as `POST /api/nlu/parse`), and under /coach/api/campaigns for the coach panel's
operators (their session, CSRF token and role; see bot/coach/guard.py):

  POST /api/campaigns              201 the preview (nothing is sent)
  POST /api/campaigns/{id}/send    202 scheduled for send_at or now; again: 202, no change
  POST /api/campaigns/{id}/cancel  200 what has not been sent is stopped
  GET  /api/campaigns/{id}         200 status and counts
  GET  /api/campaigns              200 every campaign, newest first

A bad request is 400 with what to fix (nothing changes), an unknown id 404, sending a
cancelled campaign or cancelling a finished one 409.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypedDict

from aiohttp import web

from bot.core.metrics import CAMPAIGN_MESSAGES
from bot.core.outreach.campaigns import Campaign
from bot.core.outreach.drafts import CampaignError
from bot.core.outreach.service import CampaignService, Conflict, NotFound
from bot.http import admin_refusal, error, json_object

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Who may call a route: (handler, whether it changes anything) -> the guarded handler.
Access = Callable[[Handler, bool], Handler]


def admin_access(token: str) -> Access:
    """Scripts and the CLI's remote use: the admin token in `Authorization: Bearer`."""
    def access(handler: Handler, changes: bool) -> Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            refused = admin_refusal(request, token)
            return refused if refused is not None else await handler(request)
        return guarded
    return access


class PreviewJson(TypedDict):
    """The answer to a create (201)."""

    id: str
    status: str
    recipients: int
    by_channel: dict[str, int]
    by_language: dict[str, int]
    sms_segments: int
    missing_languages: list[str]
    missing_templates: dict[str, dict[str, int]]  # channel -> language -> recipients skipped
    skipped: int
    skipped_reasons: dict[str, int]


def preview_json(campaign: Campaign) -> PreviewJson:
    """The answer to a create: the campaign's id and who would get what, per channel (also
    WhatsApp's recipients) and language; `missing_templates` names, per channel and language,
    the recipients skipped because the channel has no template for their text's language
    (WhatsApp, config/whatsapp.yml)."""
    preview = campaign.preview
    return {"id": campaign.id, "status": campaign.status, "recipients": preview["recipients"],
            "by_channel": preview["by_channel"], "by_language": preview["by_language"],
            "sms_segments": preview["segments"],
            "missing_languages": preview["missing_languages"],
            "missing_templates": preview.get("missing_templates", {}),
            "skipped": preview["skipped"], "skipped_reasons": preview["skipped_reasons"]}


async def export_metrics(campaigns: CampaignService) -> None:
    """Set the campaign gauges from Redis (the worker counts; the gateway serves /metrics)."""
    for campaign_id in await campaigns.store.ids():
        progress = await campaigns.store.progress(campaign_id)
        for channel, counts in progress.by_channel.items():
            for status, value in counts.items():
                if status != "recipients":
                    CAMPAIGN_MESSAGES.labels(campaign=campaign_id, status=status,
                                             channel=channel).set(value)


class CampaignRoutes:
    def __init__(self, campaigns: CampaignService, access: Access,
                 prefix: str = "/api/campaigns") -> None:
        self.campaigns = campaigns
        self.access = access
        self.prefix = prefix

    def routes(self) -> list[web.AbstractRouteDef]:
        base = self.prefix
        return [web.post(base, self._guard(self.create, changes=True)),
                web.get(base, self._guard(self.list)),
                web.get(base + "/{id}", self._guard(self.status)),
                web.post(base + "/{id}/send", self._guard(self.send, changes=True)),
                web.post(base + "/{id}/cancel", self._guard(self.cancel, changes=True))]

    def _guard(self, handler: Handler, changes: bool = False) -> Handler:
        """Access first; the service's refusals as 400, 404 and 409."""
        async def mapped(request: web.Request) -> web.StreamResponse:
            try:
                return await handler(request)
            except CampaignError as exc:
                return error(400, str(exc))
            except NotFound as exc:
                return error(404, str(exc))
            except Conflict as exc:
                return error(409, str(exc))

        return self.access(mapped, changes)

    async def create(self, request: web.Request) -> web.Response:
        campaign = await self.campaigns.create(await json_object(request))
        return web.json_response(preview_json(campaign), status=201)

    async def list(self, request: web.Request) -> web.Response:
        return web.json_response({"campaigns": await self.campaigns.list()})

    async def status(self, request: web.Request) -> web.Response:
        return web.json_response(await self.campaigns.status(request.match_info["id"]))

    async def send(self, request: web.Request) -> web.Response:
        campaign, scheduled = await self.campaigns.send(request.match_info["id"])
        body = await self.campaigns.status(campaign.id)
        return web.json_response({**body, "scheduled_now": scheduled}, status=202)

    async def cancel(self, request: web.Request) -> web.Response:
        campaign = await self.campaigns.cancel(request.match_info["id"])
        return web.json_response(await self.campaigns.status(campaign.id))
