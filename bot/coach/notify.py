"""E-mail to coaches (in the worker): "a new lead is waiting for <team>" when one starts waiting,
and once a day a digest of the leads waiting in each of the coach's teams, with how many of them
have waited longer than the SLA in the team's open time (a lead left on Friday evening is
waiting on Monday morning, not over the SLA). No personal data in any e-mail: a team's name,
counts and the panel's address, never a name, a word or a number.

The notifier reads the staff-event stream through its own consumer group, so several workers
share the work and an event a dying worker had taken is read again (pending) by the next. The
digest is sent once a day by whichever worker first claims the day (SET NX).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from datetime import datetime

from bot.coach.accounts import CoachAccounts
from bot.core.clock import Clock
from bot.core.handover.leads import LeadStatus, LeadStore
from bot.core.handover.teams import Teams
from bot.core.keys import Erasure, Keys, Owner, declare
from bot.core.mail import Mail, Mailer, MailError
from bot.core.outreach.quiet_hours import STOCKHOLM
from bot.core.staff_events import LEAD_WAITING, StaffEvents

log = logging.getLogger("lotsen.notify")
GROUP = "mail"
DIGEST_SENT = declare("mail-digest:{day}", owner=Owner.SYSTEM, expiry="2 days",
                      erasure=Erasure.NOT_PERSONAL, note="which worker sent a day's digest")


class Notifier:
    def __init__(self, events: StaffEvents, accounts: CoachAccounts, leads: LeadStore,
                 teams: Teams, mailer: Mailer, keys: Keys, panel_url: str, digest_hour: int,
                 clock: Clock) -> None:
        self.events = events
        self.accounts = accounts
        self.leads = leads
        self.teams = teams
        self.mailer = mailer
        self.keys = keys
        self.panel_url = panel_url
        self.digest_hour = digest_hour
        self.clock = clock
        self.consumer = f"{socket.gethostname()}-{id(self)}"

    async def run(self, stop: asyncio.Event) -> None:
        await self.events.ensure_group(GROUP)
        while not stop.is_set():
            try:
                for event in await self.events.take(GROUP, self.consumer, block_ms=1000):
                    if event.kind == LEAD_WAITING:
                        await self.lead_waiting(event.team)
                    await self.events.ack(GROUP, event.id)
                await self.digest_if_due()
            except Exception:  # keep going: a missed notice must not stop the worker
                log.exception("notify_error")
                await asyncio.sleep(1)

    async def _send(self, to: str, subject: str, body: str) -> None:
        try:
            await self.mailer.send(Mail(to, subject, body))
        except (MailError, ValueError) as exc:
            log.warning("mail_failed", extra={"detail": str(exc)})

    async def lead_waiting(self, team: str) -> None:
        name = self.teams.teams[team].name if team in self.teams.teams else team
        for coach in await self.accounts.with_team(team):
            if coach.email:
                await self._send(coach.email, f"Lotsen: en ny lead väntar – {name}",
                                 f"En ny lead väntar i kön för {name}.\n\n"
                                 f"Öppna coachpanelen: {self.panel_url}\n\n"
                                 "(Det här mejlet innehåller inga personuppgifter.)\n")

    async def digest_if_due(self) -> None:
        now = self.clock().astimezone(STOCKHOLM)
        if now.hour < self.digest_hour:
            return
        if not await self.events.redis.set(self.keys(DIGEST_SENT, day=now.date().isoformat()),
                                           "1", nx=True, ex=2 * 24 * 3600):
            return  # sent today already (by this or another worker)
        await self.send_digest(now)

    async def send_digest(self, now: datetime) -> None:
        """Each coach with an address whose teams have leads waiting: per team, how many wait
        and how many of them longer than the SLA (counted in the team's open time)."""
        waiting: dict[str, int] = {}
        over: dict[str, int] = {}
        for team in self.teams.teams:
            leads = [lead for lead in await self.leads.team_leads(team)
                     if lead.status == LeadStatus.WAITING]
            waiting[team] = len(leads)
            over[team] = sum(self.teams.over_sla(team, lead.created, now.timestamp())
                             for lead in leads)
        hours = self.teams.sla_seconds / 3600
        for coach in await self.accounts.all():
            mine = [t for t in coach.teams if t in self.teams.teams and waiting.get(t, 0)]
            if coach.disabled or not coach.email or not mine:
                continue
            lines = "\n".join(
                f"- {self.teams.teams[t].name}: {over[t]} över SLA, {waiting[t]} väntar"
                if over[t] else f"- {self.teams.teams[t].name}: {waiting[t]} väntar"
                for t in mine)
            late = any(over[t] for t in mine)
            subject = "Lotsen: leads som väntat för länge" if late else "Lotsen: leads som väntar"
            await self._send(coach.email, subject,
                             f"Leads som väntar i kön, {now.date().isoformat()} (över SLA: "
                             f"längre än {hours:g} timmar räknat i teamets öppettid):\n"
                             f"{lines}\n\n"
                             f"Öppna coachpanelen: {self.panel_url}\n\n"
                             "(Det här mejlet innehåller inga personuppgifter.)\n")
