"""The coach dashboard's JSON API (spec §8) and its page at `/coach/`.

Login gives an expiring cookie session (stored in Redis) and a CSRF token that every
state-changing request must send back in `X-CSRF-Token`. A coach sees and acts only on the
leads of their own teams; the queue shows no names: a person's details appear only once a coach
of the team they consented to has claimed their lead.

A channel that lets Lotsen write freely only for a while after the person's last message
(WhatsApp's 24-hour window) is described by `window_of`, given by the wiring so that this module
names no channel: the claimed lead shows whether the window is open and how a reply would go
now, and a reply that could not go at all is refused before anything is queued.

Presence (`/coach/api/presence`): the panel says the coach is there when it opens and on their
activity, and the coach can set themselves away (bot/core/hours/presence.py); claiming, writing
and closing count as activity too. The SLA counts each team's open time only (teams.yml hours).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TypedDict

from aiohttp import web
from aiohttp_session import get_session, new_session

from bot.coach.accounts import AccountError, Coach, CoachAccounts
from bot.coach.audit import AuditAction, AuditLog
from bot.coach.guard import SessionGuard
from bot.core.clock import Clock
from bot.core.content import Content
from bot.core.delivery import Deliveries
from bot.core.handover.canned import CannedReplies
from bot.core.handover.leads import (
    OUTCOMES,
    ClaimResult,
    CloseResult,
    Lead,
    LeadStatus,
    LeadStore,
)
from bot.core.handover.teams import Teams
from bot.core.hours.presence import Presence, PresenceState
from bot.core.messages import Capabilities, Purpose, Reply
from bot.core.metrics import LEAD_OUTCOMES, TIME_TO_CLAIM
from bot.core.stats.counters import Cell
from bot.core.stats.recorder import StatsRecorder
from bot.core.stats.satisfaction import SatisfactionFlow, ask_satisfaction
from bot.http import ClientAddresses, bad_request, error, json_object

STATIC_DIR = Path(__file__).resolve().parent / "static"
MAX_REPLY_CHARS = 2000
COACH_LANGUAGE = "sv"  # the panel's language: canned replies are shown to coaches in it


class TeamJson(TypedDict):
    id: str
    name: str


class MeJson(TypedDict):
    """`GET /coach/api/me` (and the login's answer)."""

    username: str
    name: str
    csrf_token: str
    role: str
    email: str
    teams: list[TeamJson]


class TeamNumbersJson(TypedDict):
    id: str
    name: str
    waiting: int
    over_sla: int
    claimed: int


class PresenceJson(TypedDict):
    """`/coach/api/presence`: whether the coach counts as present, whether they chose "Borta",
    and until when the presence lasts without activity (ISO 8601, UTC; `seconds_left` by the
    server's clock)."""

    present: bool
    away: bool
    until: str | None
    seconds_left: int | None


class LeadSummaryJson(TypedDict):
    """A lead in the queue: no name or contact."""

    id: str
    team: str
    language: str | None
    topic: str | None
    district: str | None
    age_group: str | None
    waiting_seconds: int
    status: str
    claimed_by_me: bool
    sla_breached: bool
    user_left: bool


class ConsentJson(TypedDict):
    version: str | None
    at: float
    channel: str | None
    language: str | None
    text_sha256: str | None


class ReplyAsJson(TypedDict):
    """How a coach's reply would go now: free-form ("text"), as an approved template (its
    name and WhatsApp language code), by a fallback channel ("fallback": e.g. "sms"), or not
    at all ("none")."""

    kind: str
    template: str | None
    language: str | None
    fallback: str | None


class WindowJson(TypedDict):
    """A conversation's window for free-form messages (WhatsApp: 24 hours after the person
    last wrote). `until` is ISO 8601 in UTC; `seconds_left` counts by the server's clock."""

    channel: str
    open: bool
    until: str | None
    seconds_left: int | None
    reply_as: ReplyAsJson


# A conversation id -> its window, or None for a channel without one (built by the wiring).
WindowOf = Callable[[str], Awaitable[WindowJson | None]]
REPLY_AS_KINDS = ("text", "template", "fallback", "none")


async def no_window(conversation: str) -> WindowJson | None:
    """No channel with a window (the default)."""
    return None


class LeadDetailJson(LeadSummaryJson):
    """A claimed lead, for the coach who claimed it."""

    name: str | None
    contact: str | None
    phone: str | None
    channel: str | None
    outcome: str | None
    consent: ConsentJson
    transcript: Sequence[Mapping[str, object]]
    window: WindowJson | None


class CannedJson(TypedDict):
    id: str
    title: str
    text: str
    teams: list[str]


class CoachApi:
    def __init__(self, *, accounts: CoachAccounts, leads: LeadStore, teams: Teams,
                 content: Content, deliveries: Deliveries, audit_log: AuditLog,
                 canned: CannedReplies, clock: Clock,
                 addresses: ClientAddresses | None = None,
                 window_of: WindowOf = no_window, stats: StatsRecorder | None = None,
                 satisfaction: SatisfactionFlow | None = None,
                 capabilities: Mapping[str, Capabilities] | None = None,
                 presence: Presence | None = None) -> None:
        self.clock = clock
        self.presence = presence or Presence(redis=leads.redis, keys=leads.keys, clock=clock)
        self.stats = stats
        self.satisfaction = satisfaction  # asked after a close (bot/core/stats/satisfaction.py)
        self.capabilities = dict(capabilities or {})  # each channel's, by name
        self.window_of = window_of
        self.canned = canned
        self.accounts = accounts
        self.audit = audit_log
        self.guard = SessionGuard(accounts)
        self.addresses = addresses or ClientAddresses()
        self.leads = leads
        self.teams = teams
        self.content = content
        self.deliveries = deliveries

    def _now(self) -> float:
        return self.clock().timestamp()

    def routes(self) -> list[web.AbstractRouteDef]:
        return [
            web.get("/coach", self.to_page),
            web.get("/coach/", self.page),
            web.static("/coach/static", STATIC_DIR),
            web.post("/coach/api/login", self.login),
            web.post("/coach/api/logout", self.guard(self.logout, csrf=True)),
            web.get("/coach/api/me", self.guard(self.me)),
            web.post("/coach/api/me", self.guard(self.update_me, csrf=True)),
            web.get("/coach/api/presence", self.guard(self.presence_state)),
            web.post("/coach/api/presence", self.guard(self.set_presence, csrf=True)),
            web.get("/coach/api/teams", self.guard(self.team_numbers)),
            web.get("/coach/api/leads", self.guard(self.list_leads)),
            web.get("/coach/api/canned", self.guard(self.list_canned)),
            web.get("/coach/api/leads/{id}", self.guard(self.lead_detail)),
            web.post("/coach/api/leads/{id}/claim", self.guard(self.claim, csrf=True)),
            web.post("/coach/api/leads/{id}/messages", self.guard(self.message, csrf=True)),
            web.post("/coach/api/leads/{id}/close", self.guard(self.close, csrf=True)),
        ]

    async def to_page(self, request: web.Request) -> web.Response:
        raise web.HTTPFound("/coach/")

    async def page(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC_DIR / "index.html")

    async def login(self, request: web.Request) -> web.Response:
        if request.content_type != "application/json":
            # A form cannot be posted here from another site without a CORS preflight.
            return error(415, "Send the login as application/json.")
        body = await json_object(request)
        username, password = body.get("username"), body.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            raise bad_request('Send {"username": "...", "password": "..."}.')
        client = self.addresses.of(request)
        address = str(client) if client is not None else "unknown"
        attempt = await self.accounts.attempt(username, address,
                                              count_address=not self.addresses.exempt(client))
        if not attempt.allowed:
            refused = error(429, f"Too many login attempts. Try again in "
                                 f"{attempt.wait_seconds} seconds.")
            refused.headers["Retry-After"] = str(attempt.wait_seconds)
            return refused
        coach = await self.accounts.verify(username, password)
        if coach is None:
            return error(401, "Wrong username or password.")
        await self.accounts.succeeded(username, address)
        if coach.disabled:
            return error(403, "This account is disabled; ask an administrator.")
        await self.accounts.logged_in(coach.username, self._now())
        await self.audit.record(coach.username, AuditAction.LOGIN)
        session = await new_session(request)
        session["username"] = coach.username
        session["generation"] = coach.generation
        session["csrf"] = secrets.token_urlsafe(24)
        return web.json_response(self._me(coach, session["csrf"]))

    async def logout(self, request: web.Request, coach: Coach) -> web.Response:
        await self.presence.leave(coach.username, coach.teams, chosen=False)
        (await get_session(request)).invalidate()
        return web.json_response({"ok": True})

    async def me(self, request: web.Request, coach: Coach) -> web.Response:
        return web.json_response(self._me(coach, (await get_session(request))["csrf"]))

    async def update_me(self, request: web.Request, coach: Coach) -> web.Response:
        """The coach's own settings: the e-mail address notifications go to ("" for none)."""
        email = (await json_object(request)).get("email")
        if not isinstance(email, str):
            raise bad_request('Send {"email": "name@example.org"} (or "" for no e-mail).')
        try:
            coach = await self.accounts.set_email(coach.username, email.strip())
        except AccountError as exc:
            raise bad_request(str(exc)) from None
        return web.json_response(self._me(coach, (await get_session(request))["csrf"]))

    # ------------------------------------------------------------------ presence
    def _presence_json(self, state: PresenceState) -> PresenceJson:
        if state.until is None:
            return {"present": state.present, "away": state.away, "until": None,
                    "seconds_left": None}
        return {"present": state.present, "away": state.away,
                "until": datetime.fromtimestamp(state.until, UTC).isoformat(),
                "seconds_left": max(0, int(state.until - self._now()))}

    async def presence_state(self, request: web.Request, coach: Coach) -> web.Response:
        state = await self.presence.state(coach.username, coach.teams)
        return web.json_response(self._presence_json(state))

    async def set_presence(self, request: web.Request, coach: Coach) -> web.Response:
        """`{"present": bool}`: the coach's choice ("Tillgänglig" / "Borta"). With `"auto":
        true` it is the panel's own doing (opened, the coach active, the page closed): that
        never undoes a chosen "Borta", nor counts as choosing it."""
        body = await json_object(request)
        present, auto = body.get("present"), body.get("auto", False)
        if not isinstance(present, bool) or not isinstance(auto, bool):
            raise bad_request('Send {"present": true} or {"present": false} '
                              '(optionally "auto": true from the panel itself).')
        if present:
            await self.presence.arrive(coach.username, coach.teams, chosen=not auto)
        else:
            await self.presence.leave(coach.username, coach.teams, chosen=not auto)
        state = await self.presence.state(coach.username, coach.teams)
        return web.json_response(self._presence_json(state))

    async def team_numbers(self, request: web.Request, coach: Coach) -> web.Response:
        """Waiting, over-SLA (in the team's open time) and claimed leads per team: an
        operator's are every team's, a coach's their own teams' (numbers only, no leads)."""
        now = self._now()
        numbers: list[TeamNumbersJson] = []
        for team in (self.teams.teams if coach.is_operator else coach.teams):
            leads = await self.leads.team_leads(team)
            waiting = [lead for lead in leads if lead.status == LeadStatus.WAITING]
            numbers.append({
                "id": team, "name": self.teams.teams[team].name, "waiting": len(waiting),
                "over_sla": sum(self.teams.over_sla(team, lead.created, now)
                                for lead in waiting),
                "claimed": sum(lead.status == LeadStatus.CLAIMED for lead in leads)})
        return web.json_response({"teams": numbers})

    def _me(self, coach: Coach, csrf: str) -> MeJson:
        return {"username": coach.username, "name": coach.name, "csrf_token": csrf,
                "role": coach.role, "email": coach.email,
                "teams": [{"id": t, "name": self.teams.teams[t].name} for t in coach.teams
                          if t in self.teams.teams]}

    # ------------------------------------------------------------------ leads
    def _summary(self, lead: Lead, coach: Coach, now: float) -> LeadSummaryJson:
        waiting = lead.waiting_seconds(now)
        return {"id": lead.id, "team": lead.team, "language": lead.fields.get("language"),
                "topic": lead.fields.get("topic"), "district": lead.fields.get("district"),
                "age_group": lead.fields.get("age_group"), "waiting_seconds": waiting,
                "status": lead.status, "claimed_by_me": lead.fields.get("coach") == coach.username,
                "sla_breached": (lead.status == LeadStatus.WAITING
                                 and self.teams.over_sla(lead.team, lead.created, now)),
                "user_left": bool(lead.fields.get("user_left"))}

    async def list_leads(self, request: web.Request, coach: Coach) -> web.Response:
        now = self._now()
        leads = [self._summary(lead, coach, now) for team in coach.teams
                 for lead in await self.leads.team_leads(team)]
        return web.json_response({"leads": leads, "sla_seconds": self.teams.sla_seconds})

    async def _lead_of_my_teams(self, request: web.Request, coach: Coach) -> Lead:
        lead = await self.leads.get(request.match_info["id"])
        if lead is None or lead.team not in coach.teams:
            raise web.HTTPNotFound(text='{"error": "No such lead in your teams."}',
                                   content_type="application/json")
        return lead

    async def _detail(self, lead: Lead, coach: Coach) -> LeadDetailJson:
        fields = lead.fields
        return {**self._summary(lead, coach, self._now()),
                "name": fields.get("name"), "contact": fields.get("contact"),
                "phone": fields.get("phone") or None, "channel": fields.get("channel"),
                "outcome": fields.get("outcome"),
                "consent": {"version": fields.get("consent_version"),
                            "at": float(fields.get("consent_at") or 0),
                            "channel": fields.get("consent_channel"),
                            "language": fields.get("consent_language"),
                            "text_sha256": fields.get("consent_text_sha256")},
                "transcript": await self.leads.messages(lead.id),
                "window": await self.window_of(lead.conversation)}

    async def lead_detail(self, request: web.Request, coach: Coach) -> web.Response:
        lead = await self._lead_of_my_teams(request, coach)
        if lead.fields.get("coach") != coach.username:
            return error(409, "Claim the lead to see the person's details.")
        await self.audit.record(coach.username, AuditAction.LEAD_VIEW, lead.id, lead.team)
        return web.json_response(await self._detail(lead, coach))

    async def claim(self, request: web.Request, coach: Coach) -> web.Response:
        lead = await self._lead_of_my_teams(request, coach)
        await self.presence.refresh(coach.username, coach.teams)  # activity
        result = await self.leads.claim(lead, coach.username, self.teams.claim_timeout_seconds)
        if result in (ClaimResult.TAKEN, ClaimResult.CLOSED, ClaimResult.MISSING):
            return error(409, "Another coach has this lead." if result is ClaimResult.TAKEN
                         else "This lead is closed.")
        if result is ClaimResult.CLAIMED_FIRST:
            waited = lead.waiting_seconds(self._now())
            TIME_TO_CLAIM.labels(team=lead.team).observe(waited)
            if self.stats is not None:
                within = not self.teams.over_sla(lead.team, lead.created, self._now())
                await self.stats.claimed(lead_cell(lead), waited, within_sla=within)
        await self.audit.record(coach.username, AuditAction.LEAD_CLAIM, lead.id, lead.team)
        return web.json_response(await self._detail(await self.leads.get(lead.id) or lead,
                                                    coach))

    async def _mine(self, request: web.Request, coach: Coach) -> Lead:
        lead = await self._lead_of_my_teams(request, coach)
        if lead.status != LeadStatus.CLAIMED or lead.fields.get("coach") != coach.username:
            raise web.HTTPConflict(text='{"error": "Claim the lead first."}',
                                   content_type="application/json")
        return lead

    async def list_canned(self, request: web.Request, coach: Coach) -> web.Response:
        """The canned replies of the coach's teams, in Swedish (what the coach reads), with
        the teams that offer each."""
        replies: dict[str, CannedJson] = {}
        for team in coach.teams:
            for reply in self.canned.for_team(team):
                entry = replies.setdefault(reply.id, {
                    "id": reply.id, "title": self.canned.title(reply.id, COACH_LANGUAGE),
                    "text": self.canned.text(reply.id, COACH_LANGUAGE), "teams": []})
                entry["teams"].append(team)
        return web.json_response({"canned": list(replies.values())})

    async def message(self, request: web.Request, coach: Coach) -> web.Response:
        """A coach's words, or a canned reply ({"canned": id}) in the person's language.

        On a channel with a window, `"reply_as"` is how the coach was told the reply would go
        (the lead's `window.reply_as`). If it would now go as a template or a fallback other
        than that, nothing is sent (409, with the window as it is now): a reply never goes as
        a template the coach did not confirm (free-form always may). A reply that could not
        go at all is refused (409) instead of being queued to fail."""
        lead = await self._mine(request, coach)
        await self.presence.refresh(coach.username, coach.teams)  # activity
        body = await json_object(request)
        language = lead.fields.get("language", "sv")
        text: object
        if "canned" in body:
            reply_id = body["canned"]
            if not isinstance(reply_id, str) or not self.canned.offers(lead.team, reply_id):
                raise bad_request("Unknown canned reply for this lead's team; "
                                  "GET /coach/api/canned lists them.")
            text = self.canned.text(reply_id, language)
        else:
            text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise bad_request('Send {"text": "..."} with the message for the person, or '
                              '{"canned": "<id>"}.')
        if len(text) > MAX_REPLY_CHARS:
            raise bad_request(f"At most {MAX_REPLY_CHARS} characters.")
        if lead.fields.get("user_left"):
            return error(409, "The person has left the chat; contact them another way.")
        window = await self.window_of(lead.conversation)
        if window is not None:
            refused = _refusal(window, body.get("reply_as"))
            if refused is not None:
                return refused
        shown = self.content.text("coach_message", language, name=coach.name, text=text.strip())
        await self.deliveries.send(lead.conversation,
                                   [Reply(shown, purpose=Purpose.COACH_REPLY)])
        await self.leads.add_message(lead.id, "coach", text.strip(), coach.name)
        await self.leads.touch(lead, coach.username)
        await self.audit.record(coach.username, AuditAction.LEAD_MESSAGE, lead.id, lead.team)
        return web.json_response({"ok": True,
                                  "sent_as": window["reply_as"] if window is not None else None})

    async def close(self, request: web.Request, coach: Coach) -> web.Response:
        lead = await self._mine(request, coach)
        await self.presence.refresh(coach.username, coach.teams)  # activity
        outcome = (await json_object(request)).get("outcome")
        if not isinstance(outcome, str) or outcome not in OUTCOMES:
            raise bad_request(f'"outcome" must be one of {", ".join(OUTCOMES)}.')
        if await self.leads.close(lead, coach.username, outcome) is not CloseResult.CLOSED:
            return error(409, "The lead is no longer yours.")
        LEAD_OUTCOMES.labels(team=lead.team, outcome=outcome).inc()
        if self.stats is not None:
            await self.stats.add("handovers_closed", lead_cell(lead))
        await self.audit.record(coach.username, AuditAction.LEAD_CLOSE, lead.id, lead.team)
        if not lead.fields.get("user_left"):
            language = lead.fields.get("language", "sv")
            asked: list[Reply] = []
            if self.satisfaction is not None:
                channel = lead.conversation.partition(":")[0]
                asked = await ask_satisfaction(self.satisfaction, lead,
                                               self.capabilities.get(channel, Capabilities()))
            # With the question, no topic menu before it: one set of choices at a time.
            closed = self.content.reply("handover_closed", language,
                                        buttons=() if asked else None)
            await self.deliveries.send(lead.conversation, [closed, *asked])
        return web.json_response({"ok": True, "id": lead.id, "outcome": outcome})


def lead_cell(lead: Lead) -> Cell:
    """Where a lead's counts go in the statistics: its channel, language, topic and district
    (none of its person's details)."""
    fields = lead.fields
    district = fields.get("district", "")
    return Cell(fields.get("channel", lead.conversation.partition(":")[0]),
                fields.get("language", ""), fields.get("topic", ""),
                "" if district == "other" else district)


def _refusal(window: WindowJson, confirmed: object) -> web.Response | None:
    """Why a coach's reply may not go now (409 with the window as it is), or None."""
    going = window["reply_as"]
    if confirmed is not None and (not isinstance(confirmed, dict)
                                  or confirmed.get("kind") not in REPLY_AS_KINDS):
        raise bad_request('"reply_as" must be the lead\'s window.reply_as as shown to the '
                          'coach (GET /coach/api/leads/{id}), e.g. {"kind": "template", '
                          '"template": "...", "language": "...", "fallback": null}.')
    if going["kind"] == "none":
        return web.json_response({
            "error": f"The person's {window['channel']} window is closed and no approved "
                     "template or fallback fits a coach's reply in their language: it cannot "
                     "be sent. Contact them another way, or wait until they write again.",
            "reason": "no_template", "window": window}, status=409)
    if not isinstance(confirmed, dict) or going["kind"] == "text":
        return None  # free-form (what any coach expects), or nothing shown to compare
    shown = (confirmed.get("kind"), confirmed.get("template"), confirmed.get("language"),
             confirmed.get("fallback"))
    if shown != (going["kind"], going["template"], going["language"], going["fallback"]):
        how = f"as the template {going['template']!r}" if going["kind"] == "template" \
            else f"by {going['fallback']}"
        return web.json_response({
            "error": f"The person's {window['channel']} window has changed: the reply would now "
                     f"go {how}, not as confirmed. Nothing was sent; confirm it again.",
            "reason": "reply_as_changed", "window": window}, status=409)
    return None
