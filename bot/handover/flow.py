"""Handover to a coach: consent first, then only what a coach needs (a name or nickname, how to
reach the person, district, age group, topic), then a lead in the team's queue. While the lead
is open, what the person writes goes to the coach instead of NLU; they can end it at any time."""

from __future__ import annotations

import hashlib
import re
import time

from bot.content import Content
from bot.handover.leads import LeadStore
from bot.handover.teams import AGE_GROUPS, Teams
from bot.messages import Button, Reply
from bot.places import fold
from bot.store import ConversationStore
from bot.turn import Intent, Turn

FLOW = "handover"
PREFIX = "/handover:"
CONSENT_VERSION = "2026-11-v1"
TOPICS = ("work", "studies", "sfi", "other")
TOPIC_OF_INTENT = {"info_jobbtorg": "work", "info_jobbtorg_unga": "work", "book_dropin": "work",
                   "info_sfi": "sfi", "info_sfi_parents": "sfi",
                   "info_vuxenutbildning": "studies"}
PHONE = re.compile(r"^\+?[\d\s\-()]{7,20}$")
MAX_NAME = 40


class HandoverFlow:
    def __init__(self, leads: LeadStore, teams: Teams, content: Content,
                 conversations: ConversationStore) -> None:
        self.leads = leads
        self.teams = teams
        self.content = content
        self.conversations = conversations

    def _reply(self, turn: Turn, key: str, buttons: list[Button] | tuple[Button, ...] = (),
               extra: tuple[str, ...] = (), **values: object) -> Reply:
        return self.content.compose(key, turn.language, buttons, extra, **values)

    def _end_flow(self, turn: Turn) -> None:
        turn.state.flow, turn.state.flow_data = None, {}

    # ------------------------------------------------------------------ start and consent
    async def start(self, turn: Turn, intent: Intent) -> list[Reply]:
        lead = await self.leads.open_for(turn.conversation_id)
        if lead is not None and not lead.fields.get("user_left"):
            turn.state.handover_lead = lead.id
            return [self._reply(turn, "handover_already_open", extra=("/handover:end",),
                                team=self.teams.teams[lead.team].name)]
        turn.state.flow = FLOW
        turn.state.flow_data = {"step": "consent"}
        if intent.district:
            turn.state.flow_data["district"] = intent.district
        topic = TOPIC_OF_INTENT.get(turn.state.last_intent or "")
        if topic:
            turn.state.flow_data["topic"] = topic
        days = self.leads.retention // 86400
        return [self._reply(turn, "handover_consent", extra=("/handover:yes", "/handover:no"),
                            days=days)]

    def _consent_record(self, turn: Turn) -> dict[str, str]:
        days = self.leads.retention // 86400
        shown = self.content.text("handover_consent", turn.language, days=days)
        return {"consent_version": CONSENT_VERSION, "consent_at": str(time.time()),
                "consent_channel": turn.message.channel, "consent_language": turn.language,
                "consent_text_sha256": hashlib.sha256(shown.encode()).hexdigest()}

    # ------------------------------------------------------------------ steps
    async def on_payload(self, turn: Turn, payload: str) -> list[Reply]:
        kind, _, arg = payload.removeprefix(PREFIX).partition(":")
        if kind == "end":
            return await self.end_by_user(turn)
        if turn.state.flow != FLOW:
            return await self.start(turn, Intent("request_coach", source="payload"))
        data = turn.state.flow_data
        if kind == "no":
            self._end_flow(turn)  # consent refused: nothing collected is kept
            return [self.content.reply("handover_declined", turn.language)]
        if kind == "yes" and data.get("step") == "consent":
            data.update(self._consent_record(turn), step="name")
            return [self._reply(turn, "handover_ask_name", extra=("/handover:no",))]
        if "consent_version" not in data:
            return await self.start(turn, Intent("request_coach", source="payload"))
        if kind == "contact" and arg in ("chat", "phone"):
            data["contact"] = arg
            if arg == "phone":
                data["step"] = "phone"
                return [self._reply(turn, "handover_ask_phone", extra=("/handover:no",))]
        elif kind == "district":
            data["district"] = arg if arg in self.teams.districts() else "other"
        elif kind == "age" and arg in AGE_GROUPS:
            data["age_group"] = arg
        elif kind == "topic" and arg in TOPICS:
            data["topic"] = arg
        return await self._next(turn)

    async def on_text(self, turn: Turn, text: str) -> list[Reply] | None:
        """Free-text answers to the steps that take text; None to let the engine decide."""
        data = turn.state.flow_data
        step = data.get("step")
        if turn.state.flow != FLOW or step not in ("name", "phone", "district"):
            return None
        if step == "name":
            name = " ".join(text.split())[:MAX_NAME]
            if not name:
                return [self._reply(turn, "handover_ask_name", extra=("/handover:no",))]
            data["name"] = name
        elif step == "phone":
            if not PHONE.match(text.strip()) or sum(c.isdigit() for c in text) < 7:
                return [self._reply(turn, "handover_bad_phone", extra=("/handover:no",))]
            data["phone"] = text.strip()
        elif step == "district":
            wanted = fold(text.strip())
            match = next((d for d in self.teams.districts() if fold(d) == wanted), None)
            if match is None:
                return None
            data["district"] = match
        return await self._next(turn)

    async def _next(self, turn: Turn) -> list[Reply]:
        data = turn.state.flow_data
        if "name" not in data:
            data["step"] = "name"
            return [self._reply(turn, "handover_ask_name", extra=("/handover:no",))]
        if "contact" not in data:
            data["step"] = "contact"
            if turn.message.channel == "sms":
                data["contact"] = "chat"  # on SMS, "this channel" is the person's number
                return await self._next(turn)
            return [self._reply(turn, "handover_ask_contact",
                                extra=("/handover:contact:chat", "/handover:contact:phone"))]
        if data["contact"] == "phone" and "phone" not in data:
            data["step"] = "phone"
            return [self._reply(turn, "handover_ask_phone", extra=("/handover:no",))]
        if "district" not in data:
            data["step"] = "district"
            buttons = [Button(d, f"{PREFIX}district:{d}") for d in self.teams.districts()]
            return [self._reply(turn, "handover_ask_district", buttons,
                                extra=("/handover:district:other",))]
        if "age_group" not in data:
            data["step"] = "age"
            return [self._reply(turn, "handover_ask_age",
                                extra=tuple(f"/handover:age:{a}" for a in AGE_GROUPS))]
        if "topic" not in data:
            data["step"] = "topic"
            return [self._reply(turn, "handover_ask_topic",
                                extra=tuple(f"/handover:topic:{t}" for t in TOPICS))]
        return await self._create_lead(turn)

    async def _create_lead(self, turn: Turn) -> list[Reply]:
        data = turn.state.flow_data
        district = data["district"] if data["district"] != "other" else None
        team = self.teams.route(district, data["age_group"])
        fields = {key: str(data[key]) for key in (
            "name", "contact", "district", "age_group", "topic", "consent_version", "consent_at",
            "consent_channel", "consent_language", "consent_text_sha256") if key in data}
        fields.update(phone=str(data.get("phone", "")), language=turn.language,
                      channel=turn.message.channel, user_left="")
        _, lead_id = await self.leads.create(turn.conversation_id, team.id, fields)
        for entry in await self.conversations.transcript(turn.conversation_id):
            await self.leads.add_message(lead_id, entry["from"], entry["text"])
        self._end_flow(turn)
        turn.state.handover_lead = lead_id
        reply = self._reply(turn, "handover_done", extra=("/handover:end",), name=data["name"],
                            team=team.name, count=self.teams.response_hours)
        if self.teams.sample:
            reply = Reply(f"{reply.text}\n{self.content.text('sample_notice', turn.language)}",
                          reply.buttons)
        return [reply]

    # ------------------------------------------------------------------ relay
    async def relay(self, turn: Turn, text: str) -> list[Reply] | None:
        """While a lead is open, the person's messages go to the coach. None when it is not."""
        lead_id = turn.state.handover_lead
        if not lead_id:
            return None
        lead = await self.leads.get(lead_id)
        if lead is None or lead.status not in ("waiting", "claimed") or lead.fields.get(
                "user_left"):
            turn.state.handover_lead = None
            return None
        await self.leads.add_message(lead.id, "user", text)
        return [self._reply(turn, "handover_relayed", extra=("/handover:end",))]

    async def end_by_user(self, turn: Turn) -> list[Reply]:
        lead_id = turn.state.handover_lead
        self._end_flow(turn)
        turn.state.handover_lead = None
        if lead_id:
            await self.leads.set_fields(lead_id, user_left=str(time.time()))
            await self.leads.add_message(lead_id, "system", "user_left")
        return [self.content.reply("handover_ended", turn.language)]
