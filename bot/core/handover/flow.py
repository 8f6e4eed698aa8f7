"""Handover to a coach: consent first, then only what a coach needs (a name or nickname, how to
reach the person, district, age group, topic), then a lead in the team's queue. While the lead
is open, what the person writes goes to the coach instead of NLU; they can end it at any time.

Honest about when: when the team is not staffed (closed, or open with no coach at the panel:
bot/core/hours/), the handover says when a coach can answer (the weekday, date and time in the
person's language), still asks consent and offers a drop-in booking instead; the lead waits.
A channel that cannot reach the person later (`Capabilities.reachable_later` is False: the web
chat ends with the page) says it cannot wait and offers a booking or a phone number instead.
At consent the team is not known yet (the area and age group come after it), so the check is
for the teams the person's area may go to (all teams when the area is not known); the lead's
own team is checked again when the lead is made, and the last message says what holds for it.
"""

from __future__ import annotations

import hashlib
import re
from enum import StrEnum

from babel.dates import format_date, format_time

from bot.core.content import Content
from bot.core.flows.base import Flow
from bot.core.handover.leads import OPEN_STATUSES, CreateResult, LeadStore
from bot.core.handover.teams import AGE_GROUPS, Team, Teams
from bot.core.hours.staffing import STAFFED, Outlook, Staffing
from bot.core.hours.week import TIMEZONE
from bot.core.limits import DailyLimit
from bot.core.messages import Button, Reply
from bot.core.payloads import BOOK_DROPIN, HANDOVER
from bot.core.places import fold
from bot.core.stats.counters import Cell
from bot.core.stats.recorder import StatsRecorder
from bot.core.store import ConversationStore
from bot.core.turn import Intent, Turn


class Step(StrEnum):
    """What the flow asks now (`flow_data["step"]`)."""

    CONSENT = "consent"
    NAME = "name"
    CONTACT = "contact"
    PHONE = "phone"
    DISTRICT = "district"
    AGE = "age"
    TOPIC = "topic"


class Contact(StrEnum):
    """How the coach reaches the person (the lead's `contact` field)."""

    CHAT = "chat"    # in the chat, or at the number it came from (address_is_phone)
    PHONE = "phone"  # at a phone number the person gives


CONSENT_VERSION = "2026-11-v1"
CONSENT_KEY, CONSENT_PHONE_KEY = "handover_consent", "handover_consent_phone"
TOPICS = ("work", "studies", "sfi", "other")
TOPIC_OF_INTENT = {"info_jobbtorg": "work", "info_jobbtorg_unga": "work", "book_dropin": "work",
                   "info_sfi": "sfi", "info_sfi_parents": "sfi",
                   "info_vuxenutbildning": "studies"}
PHONE = re.compile(r"^\+?[\d\s\-()]{7,20}$")
MAX_NAME = 40
YES, NO, END = HANDOVER("yes"), HANDOVER("no"), HANDOVER("end")
CONTACT_CHAT, CONTACT_PHONE = HANDOVER("contact", Contact.CHAT), HANDOVER("contact", Contact.PHONE)
OTHER_DISTRICT = HANDOVER("district", "other")
AGE = {age: HANDOVER("age", age) for age in AGE_GROUPS}
TOPIC = {topic: HANDOVER("topic", topic) for topic in TOPICS}


class HandoverFlow(Flow):
    name = "handover"
    prefix = HANDOVER
    intents = ("request_coach",)
    label = "request_coach"

    def __init__(self, leads: LeadStore, teams: Teams, content: Content,
                 conversations: ConversationStore, daily: DailyLimit | None = None,
                 stats: StatsRecorder | None = None, staffing: Staffing | None = None) -> None:
        self.staffing = staffing  # None: every team counts as staffed (no hours, no presence)
        self.daily = daily
        self.stats = stats
        self.leads = leads
        self.teams = teams
        self.content = content
        self.conversations = conversations

    def _count(self, turn: Turn, counter: str) -> None:
        """Count a step of the handover in the day's statistics, with the turn's writes."""
        if self.stats is not None:
            data = turn.state.flow_data
            district = str(data.get("district", "")) if data.get("district") != "other" else ""
            cell = Cell(turn.message.channel, turn.language, str(data.get("topic", "")), district)
            turn.staged += self.stats.writes(counter, cell)

    def _reply(self, turn: Turn, key: str, buttons: list[Button] | tuple[Button, ...] = (),
               extra: tuple[str, ...] = (), **values: object) -> Reply:
        return self.content.compose(key, turn.language, buttons, extra, **values)

    def fixed_payloads(self) -> tuple[str, ...]:
        return (YES, NO, END, CONTACT_CHAT, CONTACT_PHONE, OTHER_DISTRICT, *AGE.values(),
                *TOPIC.values(), BOOK_DROPIN)

    def accepts(self, payload: str) -> bool:
        kind, arg = self.prefix.split(payload)
        return (payload in (YES, NO, END, CONTACT_CHAT, CONTACT_PHONE) or kind == "district"
                or (kind == "age" and arg in AGE) or (kind == "topic" and arg in TOPIC))

    def engaged(self, turn: Turn) -> bool:
        return self.active(turn) or bool(turn.state.handover_lead)

    async def on_intent(self, turn: Turn, intent: Intent) -> list[Reply]:
        return await self.start(turn, intent)

    async def on_cancel(self, turn: Turn) -> list[Reply]:
        if turn.state.handover_lead:
            return await self.end_by_user(turn)
        self.end(turn)
        return [self.content.reply("help", turn.language)]

    def holds(self, turn: Turn) -> bool:
        """While a lead is open (and no other flow is answering), messages go to the coach."""
        return bool(turn.state.handover_lead) and turn.state.flow is None

    async def intercept(self, turn: Turn, text: str) -> list[Reply] | None:
        return await self.relay(turn, text)

    # ------------------------------------------------------------------ start and consent
    async def start(self, turn: Turn, intent: Intent) -> list[Reply]:
        lead = await self.leads.open_for(turn.conversation_id)
        if lead is not None and not lead.fields.get("user_left"):
            turn.state.handover_lead = lead.id
            return [self._reply(turn, "handover_already_open", extra=(END,),
                                team=self.teams.teams[lead.team].name)]
        turn.state.flow = self.name
        turn.state.flow_data = {"step": Step.CONSENT}
        if intent.district:
            turn.state.flow_data["district"] = intent.district
        topic = TOPIC_OF_INTENT.get(turn.state.last_intent or "")
        if topic:
            turn.state.flow_data["topic"] = topic
        days = self.leads.retention // 86400
        self._count(turn, "handovers_requested")
        outlook = await self._outlook(turn, self.teams.candidates(
            turn.state.flow_data.get("district")))
        if not outlook.known:
            return [self._reply(turn, CONSENT_KEY, extra=(YES, NO), days=days)]
        return [self._consent_when_not_staffed(turn, outlook, days)]

    # ------------------------------------------------------------------ when not staffed
    async def _outlook(self, turn: Turn, teams: list[Team]) -> Outlook:
        if self.staffing is None:
            return STAFFED
        return await self.staffing.best(teams, turn.message.received_at)

    def _say(self, turn: Turn, key: str, **values: object) -> str:
        """The text `key` (its short form where every character costs)."""
        short = self.content.templates[key].short
        if turn.short and short:
            return self.content.catalogs.gettext(turn.language, short).format(**values)
        return self.content.text(key, turn.language, **values)

    def _when(self, turn: Turn, outlook: Outlook) -> str:
        """When a coach can answer, in the person's language: "... on Monday 28 June from
        08:00" (babel, the person's locale, Stockholm time)."""
        assert outlook.opens is not None  # outlook.known
        locale = self.content.languages.languages[turn.language].babel_locale
        opens = outlook.opens.astimezone(TIMEZONE)
        day = format_date(opens.date(), "EEEE d MMMM", locale=locale)
        time = format_time(opens, "short", tzinfo=TIMEZONE, locale=locale)
        if outlook.today_until is not None:
            until = format_time(outlook.today_until, "short", tzinfo=TIMEZONE, locale=locale)
            return self._say(turn, "handover_no_coach_free", until=until, day=day, time=time)
        return self._say(turn, "handover_closed_now", day=day, time=time)

    def _consent_when_not_staffed(self, turn: Turn, outlook: Outlook, days: int) -> Reply:
        """When a coach can answer, the consent question, and a drop-in booking instead. Where
        the person cannot be reached later, the coach is to call: the consent says so."""
        parts = [self._when(turn, outlook)]
        if turn.message.capabilities.reachable_later:
            parts += [self._say(turn, "handover_book_instead"),
                      self.content.text(CONSENT_KEY, turn.language, days=days)]
        else:
            turn.state.flow_data.update(contact=Contact.PHONE, consent_key=CONSENT_PHONE_KEY)
            parts += [self._say(turn, "handover_cannot_wait"),
                      self.content.text(CONSENT_PHONE_KEY, turn.language, days=days)]
        return Reply("\n\n".join(parts), self.content.buttons((YES, BOOK_DROPIN, NO),
                                                              turn.language))

    def _consent_record(self, turn: Turn) -> dict[str, str]:
        days = self.leads.retention // 86400
        key = str(turn.state.flow_data.get("consent_key", CONSENT_KEY))
        shown = self.content.text(key, turn.language, days=days)
        given = turn.message.received_at.timestamp()
        return {"consent_version": CONSENT_VERSION, "consent_at": str(given),
                "consent_channel": turn.message.channel, "consent_language": turn.language,
                "consent_text_sha256": hashlib.sha256(shown.encode()).hexdigest()}

    # ------------------------------------------------------------------ steps
    async def on_payload(self, turn: Turn, payload: str) -> list[Reply]:
        kind, arg = self.prefix.split(payload)
        if kind == "end":
            return await self.end_by_user(turn)
        if not self.active(turn):
            return await self.start(turn, Intent("request_coach", source="payload"))
        data = turn.state.flow_data
        if kind == "no":
            self.end(turn)  # consent refused: nothing collected is kept
            return [self.content.reply("handover_declined", turn.language)]
        if kind == "yes" and data.get("step") == Step.CONSENT:
            data.update(self._consent_record(turn), step=Step.NAME)
            self._count(turn, "handovers_consented")
            return [self._reply(turn, "handover_ask_name", extra=(NO,))]
        if "consent_version" not in data:
            return await self.start(turn, Intent("request_coach", source="payload"))
        if kind == "contact" and arg in tuple(Contact):
            data["contact"] = arg
            if arg == Contact.PHONE:
                data["step"] = Step.PHONE
                return [self._reply(turn, "handover_ask_phone", extra=(NO,))]
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
        if not self.active(turn) or step not in (Step.NAME, Step.PHONE, Step.DISTRICT):
            return None
        if step == Step.NAME:
            name = " ".join(text.split())[:MAX_NAME]
            if not name:
                return [self._reply(turn, "handover_ask_name", extra=(NO,))]
            data["name"] = name
        elif step == Step.PHONE:
            if not PHONE.match(text.strip()) or sum(c.isdigit() for c in text) < 7:
                return [self._reply(turn, "handover_bad_phone", extra=(NO,))]
            data["phone"] = text.strip()
        elif step == Step.DISTRICT:
            wanted = fold(text.strip())
            match = next((d for d in self.teams.districts() if fold(d) == wanted), None)
            if match is None:
                return None
            data["district"] = match
        return await self._next(turn)

    async def _next(self, turn: Turn) -> list[Reply]:
        data = turn.state.flow_data
        if "name" not in data:
            data["step"] = Step.NAME
            return [self._reply(turn, "handover_ask_name", extra=(NO,))]
        if "contact" not in data:
            data["step"] = Step.CONTACT
            if turn.message.capabilities.address_is_phone:
                data["contact"] = Contact.CHAT  # "here" is already a number the coach can use
                return await self._next(turn)
            return [self._reply(turn, "handover_ask_contact", extra=(CONTACT_CHAT, CONTACT_PHONE))]
        if data["contact"] == Contact.PHONE and "phone" not in data:
            data["step"] = Step.PHONE
            return [self._reply(turn, "handover_ask_phone", extra=(NO,))]
        if "district" not in data:
            data["step"] = Step.DISTRICT
            buttons = [Button(d, HANDOVER("district", d)) for d in self.teams.districts()]
            return [self._reply(turn, "handover_ask_district", buttons, extra=(OTHER_DISTRICT,))]
        if "age_group" not in data:
            data["step"] = Step.AGE
            return [self._reply(turn, "handover_ask_age", extra=tuple(AGE.values()))]
        if "topic" not in data:
            data["step"] = Step.TOPIC
            return [self._reply(turn, "handover_ask_topic", extra=tuple(TOPIC.values()))]
        return await self._create_lead(turn)

    async def _create_lead(self, turn: Turn) -> list[Reply]:
        address = turn.message.client_address
        if self.daily is not None and await self.leads.open_for(turn.conversation_id) is None \
                and await self.daily.reached(turn.conversation_id, address):
            self.end(turn)  # nothing collected is kept
            return [self.content.reply("limit_today", turn.language)]
        data = turn.state.flow_data
        district = data["district"] if data["district"] != "other" else None
        team = self.teams.route(district, data["age_group"])
        fields: dict[str, str] = {key: str(data[key]) for key in (
            "name", "contact", "district", "age_group", "topic", "consent_version", "consent_at",
            "consent_channel", "consent_language", "consent_text_sha256") if key in data}
        fields.update(phone=str(data.get("phone", "")), language=turn.language,
                      channel=turn.message.channel, user_left="")
        created, lead_id = await self.leads.create(turn.conversation_id, team.id, fields)
        if created is CreateResult.CREATED and self.daily is not None:
            await self.daily.count(turn.conversation_id, address)
        for entry in await self.conversations.transcript(turn.conversation_id):
            await self.leads.add_message(lead_id, entry["from"], entry["text"])
        self.end(turn)
        turn.state.handover_lead = lead_id
        outlook = await self._outlook(turn, [team])
        if outlook.known:
            reply = self._done_when_not_staffed(turn, outlook, str(data["name"]), team,
                                                str(data["contact"]))
        else:
            reply = self._reply(turn, "handover_done", extra=(END,), name=data["name"],
                                team=team.name, count=self.teams.response_hours)
        if self.teams.sample:
            reply = Reply(f"{reply.text}\n{self.content.text('sample_notice', turn.language)}",
                          reply.buttons)
        return [reply]

    def _done_when_not_staffed(self, turn: Turn, outlook: Outlook, name: str, team: Team,
                               contact: str) -> Reply:
        """The lead waits for the team: when a coach can answer. A person who cannot be reached
        later in this chat is offered a drop-in as well."""
        text = self._say(turn, "handover_done_later", name=name, team=team.name,
                         later=self._when(turn, outlook))
        extra: tuple[str, ...] = (END,)
        if contact == Contact.CHAT and not turn.message.capabilities.reachable_later:
            text = f"{text} {self._say(turn, 'handover_book_instead')}"
            extra = (BOOK_DROPIN, END)
        return Reply(text, self.content.buttons(extra, turn.language))

    # ------------------------------------------------------------------ relay
    async def relay(self, turn: Turn, text: str) -> list[Reply] | None:
        """While a lead is open, the person's messages go to the coach. None when it is not."""
        lead_id = turn.state.handover_lead
        if not lead_id:
            return None
        lead = await self.leads.get(lead_id)
        if lead is None or lead.status not in OPEN_STATUSES or lead.fields.get(
                "user_left"):
            turn.state.handover_lead = None
            return None
        await self.leads.add_message(lead.id, "user", text)
        return [self._reply(turn, "handover_relayed", extra=(END,))]

    async def end_by_user(self, turn: Turn) -> list[Reply]:
        lead_id = turn.state.handover_lead
        self.end(turn)
        turn.state.handover_lead = None
        if lead_id:
            left = turn.message.received_at.timestamp()
            await self.leads.set_fields(lead_id, user_left=str(left))
            await self.leads.add_message(lead_id, "system", "user_left")
        return [self.content.reply("handover_ended", turn.language)]
