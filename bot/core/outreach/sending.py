"""The worker's side of a campaign: two jobs.

`campaign_start` resolves the audience when the campaign is due (the subscriptions live then)
and queues one `campaign_message` job per person, with a fixed job id, marking them queued in
the same transaction; run again after a crash, it queues only those not yet queued.

`campaign_message` sends one person's message, deciding at send time: the campaign not
cancelled, the subscription still there and covering it, the person not opted out on their
channel (STOP after subscribing means nothing is sent), a text in their language (or the
fallback), outside quiet hours for channels that have them (else the job waits for 08:00), and
within the daily limit (LOTSEN_CAMPAIGN_MAX_PER_DAY). The recipient's state is the marker: a
job that runs again finds it `sent` and does nothing, and the send and its recording run as a
critical section, so a worker cancelled mid-campaign leaves each person with one message.
Each person's send is its own job, so several workers can share a campaign.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from bot.core.clock import Clock
from bot.core.critical import CriticalSections
from bot.core.jobs import JobHandler, JobQueue, NewJob, RetryLater
from bot.core.outreach.campaigns import (
    CANCELLED,
    FAILED,
    QUEUED,
    SCHEDULED,
    SENDING,
    SENT,
    SKIPPED,
    Campaign,
    CampaignStore,
)
from bot.core.outreach.quiet_hours import next_allowed, seconds_until_allowed, stockholm_day
from bot.core.outreach.reach import Reach, Unreachable
from bot.core.outreach.service import MESSAGE_JOB, START_JOB, message_job_id
from bot.core.outreach.subscriptions import Subscription, SubscriptionStore

log = logging.getLogger("lotsen.outreach")
BATCH = 500


class CampaignSender:
    def __init__(self, store: CampaignStore, subscriptions: SubscriptionStore, jobs: JobQueue,
                 reaches: Mapping[str, Reach], clock: Clock, max_per_day: int,
                 critical: CriticalSections) -> None:
        self.store = store
        self.subscriptions = subscriptions
        self.jobs = jobs
        self.reaches = reaches
        self.clock = clock
        self.max_per_day = max_per_day
        self.critical = critical

    def handlers(self) -> dict[str, JobHandler]:
        return {START_JOB: self.start, MESSAGE_JOB: self.message}

    def dead_handlers(self) -> dict[str, JobHandler]:
        """A message that failed every attempt (now a dead letter) counts as failed."""
        async def gave_up(args: dict[str, Any]) -> None:
            await self.store.move(args["campaign"], args["conversation"], FAILED, "gave_up")

        return {MESSAGE_JOB: gave_up}

    # ------------------------------------------------------------------ start
    async def start(self, args: dict[str, Any]) -> None:
        campaign_id = str(args["campaign"])
        if await self.store.set_status(campaign_id, SENDING, SCHEDULED, SENDING) not in (
                SCHEDULED, SENDING):
            return  # cancelled (or gone) before it was due
        now = self.clock().timestamp()
        campaign = await self.store.get(campaign_id)
        assert campaign is not None
        if campaign.started_at is None:
            await self.store.update(campaign_id, started_at=repr(now))
        audience = await self.subscriptions.matching(campaign.audience, now)
        for first in range(0, len(audience), BATCH):
            current = await self.store.get(campaign_id)
            if current is None or current.status == CANCELLED:
                return
            await self._queue(campaign, audience[first:first + BATCH], now)
        count = await self.store.count_recipients(campaign_id)
        await self.store.update(campaign_id, queued_at=repr(now))
        log.info("campaign_queued", extra={"count": count})

    async def _queue(self, campaign: Campaign, batch: Sequence[Subscription],
                     now: float) -> None:
        states = await self.store.states(campaign.id, [s.conversation for s in batch])
        new = [s for s, state in zip(batch, states, strict=True) if state is None]
        if not new:
            return
        jobs = [NewJob(MESSAGE_JOB, {"campaign": campaign.id, "conversation": s.conversation},
                       due=self._due(s.channel, now), conversation=s.conversation,
                       job_id=message_job_id(campaign.id, s.conversation)) for s in new]
        await self.jobs.schedule_many(jobs, also=lambda pipe: self.store.queue_on(
            pipe, campaign.id, [s.conversation for s in new]))

    def _due(self, channel: str, now: float) -> float:
        """Now, or the end of quiet hours for a channel that has them."""
        reach = self.reaches.get(channel)
        if reach is None or not reach.quiet_hours:
            return now
        return next_allowed(self.clock()).timestamp()

    # ------------------------------------------------------------------ one person
    async def message(self, args: dict[str, Any]) -> None:
        campaign_id, conversation = str(args["campaign"]), str(args["conversation"])
        if await self.store.state(campaign_id, conversation) not in (QUEUED, FAILED):
            return  # sent, skipped, or the person erased: nothing to do
        campaign = await self.store.get(campaign_id)
        if campaign is None:
            return
        now = self.clock()
        channel, _, user_id = conversation.partition(":")
        reach = self.reaches.get(channel)
        subscription = await self.subscriptions.get(conversation, now.timestamp())
        chosen = campaign.text_for(subscription.language) if subscription else None
        reason = ("cancelled" if campaign.status == CANCELLED
                  else "channel_unavailable" if reach is None or not reach.available
                  else "unsubscribed" if subscription is None
                  or not subscription.covers(campaign.audience)
                  else "no_text" if chosen is None else "")
        if not reason and reach is not None and await reach.opted_out(user_id):
            reason = "opted_out"
        if reason or reach is None or chosen is None:
            await self.store.move(campaign_id, conversation, SKIPPED, reason)
            return
        if reach.quiet_hours and (wait := seconds_until_allowed(now)) > 0:
            raise RetryLater(wait, reason="quiet hours")
        if not await self.store.claim_day(conversation, stockholm_day(now), campaign_id,
                                          self.max_per_day):
            await self.store.move(campaign_id, conversation, SKIPPED, "daily_limit")
            return
        await self.critical.run(self._send(campaign_id, conversation, reach, chosen[1],
                                           now.timestamp()))

    async def _send(self, campaign_id: str, conversation: str, reach: Reach, text: str,
                    now: float) -> None:
        """Send and record it; shielded, so a cancelled worker still records what it sent."""
        channel, _, user_id = conversation.partition(":")
        try:
            sent = await reach.send(user_id, text, campaign_id)
        except Unreachable:
            await self.store.move(campaign_id, conversation, FAILED, "unreachable")
            return
        await self.store.move(campaign_id, conversation, SENT)
        if sent.delivered:
            await self.store.count(campaign_id, "delivered", channel)
        await self.store.mark_recent(conversation, campaign_id, now)
