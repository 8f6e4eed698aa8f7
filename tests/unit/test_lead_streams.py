"""Lead streams stay short and true: entries older than the retention period are trimmed, and
a pending entry whose lead hash has expired is acknowledged and deleted by the worker, so old
junk never hides new leads from the dashboard."""

from __future__ import annotations

from bot.config import ROOT
from bot.core.clock import system_clock
from bot.core.handover.leads import GROUP, LeadStore
from bot.core.handover.teams import Teams
from bot.core.keys import Keys
from bot.runtime.worker import prune_lead_streams


async def test_expired_leads_leave_the_queue_and_old_entries_are_trimmed(redis, prefix) -> None:
    teams = Teams.load(ROOT / "config" / "teams.yml")
    team = next(iter(teams.teams))
    leads = LeadStore(redis=redis, keys=Keys(prefix), clock=system_clock, retention_seconds=3600)
    stream = leads.stream_key(team)
    # An entry from two hours ago, beyond the one-hour retention period.
    seconds, _ = await redis.time()  # stream ids are Redis's timestamps
    await redis.xadd(stream, {"lead": "ancient"}, id=f"{(seconds - 7200) * 1000}-0")
    _, kept = await leads.create("webchat:a", team, {"name": "A"})
    _, expired = await leads.create("webchat:b", team, {"name": "B"})
    await redis.delete(leads.lead_key(expired))  # its hash expired with the retention period
    assert await redis.xlen(stream) == 3

    assert await prune_lead_streams(leads, teams) >= 2
    assert [lead.id for lead in await leads.team_leads(team)] == [kept]
    pending = await redis.xpending(stream, GROUP)
    assert pending["pending"] == 1 and await redis.xlen(stream) == 1
