"""The worker's side of a campaign: two jobs.

`campaign_start` resolves the audience when the campaign is due (the subscriptions live then)
and queues one `campaign_message` job per person, with a fixed job id, marking them queued in
the same transaction; run again after a crash, it queues only those not yet queued. The jobs
are released at each channel's pace (`Reach.per_second`: after the first second's worth, job
k of a channel is due k/rate seconds after the start), so the queue, not a worker's waiting
tasks, holds the backlog; on a quiet-hours channel the release starts when all of it fits
before 20:30, else at 08:00.

`campaign_message` sends one person's message, deciding at send time: the campaign not
cancelled, the subscription still there and covering it, the person not opted out on their
channel (STOP after subscribing means nothing is sent), a text in their language (or the
fallback) that their channel can carry (`Reach.carries`: WhatsApp needs a marketing template
for the text's language), outside quiet hours for channels that have them (else the job waits
for 08:00), and within the daily limit (LOTSEN_CAMPAIGN_MAX_PER_DAY). It then waits for its
slot within the provider's limits, marks the recipient `sending`, calls the provider and marks
them `sent`.

Exactly once: a job that runs again finds `sent` and does nothing; a stopping worker finishes
the send in hand (a critical section). A worker killed (`kill -9`) during the provider call
leaves `sending`: the provider may or may not have the message, and neither Telegram, the SMS
providers nor WhatsApp's Cloud API take an idempotency key to ask. The message is not sent
again (nobody gets a campaign twice) and counts as sent and `in_doubt`. Only a kill between the
mark and the request leaving the process (well under a millisecond) loses a message that way.
Each person's send is its own job, so several workers share a campaign.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime

from bot.core.clock import Clock
from bot.core.critical import CriticalSections
from bot.core.jobs import Job, JobHandler, JobQueue, NewJob, Payload, RetryLater, text_field
from bot.core.outreach.campaigns import (
    OPEN,
    Campaign,
    CampaignStatus,
    CampaignStore,
    RecipientState,
)
from bot.core.outreach.quiet_hours import release_at, seconds_until_allowed, stockholm_day
from bot.core.outreach.reach import Reach, Unreachable
from bot.core.outreach.service import MESSAGE_JOB, START_JOB, message_job_id
from bot.core.outreach.subscriptions import Subscription, SubscriptionStore

log = logging.getLogger("lotsen.outreach")
BATCH = 500
IN_DOUBT = "in_doubt"
AT_ONCE_SECONDS = 1.0  # a campaign's first second of messages per channel is due at once
IN_DOUBT_AFTER = 30.0  # seconds: longer than any provider call may take (SMS time out at 15)


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
        return {START_JOB: lambda job: self.start(job.payload),
                MESSAGE_JOB: lambda job: self.message(job.payload)}

    def dead_handlers(self) -> dict[str, JobHandler]:
        """A message that failed every attempt (now a dead letter) counts as failed."""
        async def gave_up(job: Job) -> None:
            await self.store.move(text_field(job.payload, "campaign"),
                                  text_field(job.payload, "conversation"),
                                  RecipientState.FAILED, "gave_up")

        return {MESSAGE_JOB: gave_up}

    # ------------------------------------------------------------------ start
    async def start(self, payload: Payload) -> None:
        """The `campaign_start` job: {"campaign"}."""
        campaign_id = text_field(payload, "campaign")
        due = (CampaignStatus.SCHEDULED, CampaignStatus.SENDING)
        if await self.store.set_status(campaign_id, CampaignStatus.SENDING, *due) not in due:
            return  # cancelled (or gone) before it was due
        now = self.clock()
        campaign = await self.store.get(campaign_id)
        assert campaign is not None
        if campaign.started_at is None:
            await self.store.update(campaign_id, started_at=repr(now.timestamp()))
        audience = await self.subscriptions.matching(campaign.audience, now.timestamp())
        states = await self.store.states(campaign_id, [s.conversation for s in audience])
        new = [s for s, state in zip(audience, states, strict=True) if state is None]
        release = Release(self.reaches, now, Counter(s.channel for s in new))
        for first in range(0, len(new), BATCH):
            current = await self.store.get(campaign_id)
            if current is None or current.status is CampaignStatus.CANCELLED:
                return
            await self._queue(campaign, new[first:first + BATCH], release)
        count = await self.store.count_recipients(campaign_id)
        await self.store.update(campaign_id, queued_at=repr(now.timestamp()))
        log.info("campaign_queued", extra={"count": count})

    async def _queue(self, campaign: Campaign, batch: Sequence[Subscription],
                     release: Release) -> None:
        jobs = [NewJob(MESSAGE_JOB, {"campaign": campaign.id, "conversation": s.conversation},
                       due=release.next_due(s.channel), conversation=s.conversation,
                       job_id=message_job_id(campaign.id, s.conversation)) for s in batch]
        await self.jobs.schedule_many(jobs, also=lambda pipe: self.store.queue_on(
            pipe, campaign.id, [s.conversation for s in batch]))

    # ------------------------------------------------------------------ one person
    async def message(self, payload: Payload) -> None:
        """The `campaign_message` job: {"campaign", "conversation"}."""
        campaign_id = text_field(payload, "campaign")
        conversation = text_field(payload, "conversation")
        state, since = await self.store.state(campaign_id, conversation)
        if state is RecipientState.SENDING:
            await self._after_crash(campaign_id, conversation, since)
            return
        if state not in OPEN:
            return  # sent, skipped, or the person erased: nothing to do
        campaign = await self.store.get(campaign_id)
        if campaign is None:
            return
        now = self.clock()
        channel, _, user_id = conversation.partition(":")
        reach = self.reaches.get(channel)
        subscription = await self.subscriptions.get(conversation, now.timestamp())
        chosen = campaign.text_for(subscription.language) if subscription else None
        reason = ("cancelled" if campaign.status is CampaignStatus.CANCELLED
                  else "channel_unavailable" if reach is None or not reach.available
                  else "unsubscribed" if subscription is None
                  or not subscription.covers(campaign.audience)
                  else "no_text" if chosen is None else "")
        if not reason and reach is not None and await reach.opted_out(user_id):
            reason = "opted_out"
        if not reason and reach is not None and chosen is not None and \
                not reach.carries(chosen[0]):
            reason = "no_template"  # e.g. WhatsApp: no campaign template for the language
        if reason or reach is None or chosen is None:
            await self.store.move(campaign_id, conversation, RecipientState.SKIPPED, reason)
            return
        if reach.quiet_hours and (wait := seconds_until_allowed(now)) > 0:
            raise RetryLater(wait, reason="quiet hours")
        if not await self.store.claim_day(conversation, stockholm_day(now), campaign_id,
                                          self.max_per_day):
            await self.store.move(campaign_id, conversation, RecipientState.SKIPPED,
                                  "daily_limit")
            return
        await reach.wait_turn(user_id)
        await self.critical.run(self._send(campaign_id, conversation, reach, *chosen))

    async def _send(self, campaign_id: str, conversation: str, reach: Reach, language: str,
                    text: str) -> None:
        """Mark, send and record; shielded, so a stopping worker still records what it sent."""
        channel, _, user_id = conversation.partition(":")
        now = self.clock().timestamp()
        if not await self.store.begin_send(campaign_id, conversation, now):
            return  # another job got there first
        try:
            sent = await reach.send_in(user_id, text, campaign_id, language)
        except Unreachable:
            await self.store.move(campaign_id, conversation, RecipientState.FAILED,
                                  "unreachable", before=(RecipientState.SENDING,))
            return
        except BaseException:  # not sent: open again for the job's retry or its dead letter
            await self.store.move(campaign_id, conversation, RecipientState.QUEUED,
                                  before=(RecipientState.SENDING,))
            raise
        await self.store.move(campaign_id, conversation, RecipientState.SENT,
                              before=(RecipientState.SENDING,))
        await self.store.tally("campaign_sent", channel, language)
        if sent.delivered:
            await self.store.count(campaign_id, "delivered", channel, language)
        await self.store.mark_recent(conversation, campaign_id, now, language)

    async def _after_crash(self, campaign_id: str, conversation: str, since: float) -> None:
        """The recipient is marked `sending`: a worker was calling the provider. Give a live
        send time to finish; after that its worker died mid-call, and the message counts as
        sent and in doubt (never sent again, see the module's docstring)."""
        age = self.clock().timestamp() - since
        if age < IN_DOUBT_AFTER:
            raise RetryLater(IN_DOUBT_AFTER - age, reason="a send in progress")
        if await self.store.move(campaign_id, conversation, RecipientState.SENT, IN_DOUBT,
                                 before=(RecipientState.SENDING,)):
            await self.store.mark_recent(conversation, campaign_id, since)
            log.warning("campaign_send_in_doubt", extra={"detail": campaign_id})


class Release:
    """The due times of a campaign's message jobs: each channel's share starts when it may
    (now, or for a quiet-hours channel `release_at`); its first second's worth is due at once
    (the pacer spaces them) and the rest follow at the channel's pace."""

    def __init__(self, reaches: Mapping[str, Reach], now: datetime,
                 counts: Mapping[str, int]) -> None:
        self._start: dict[str, float] = {}
        self._rate: dict[str, float] = {}
        self._queued: Counter[str] = Counter()
        for channel, count in counts.items():
            reach = reaches.get(channel)
            rate = reach.per_second if reach is not None else 0.0
            start = now
            if reach is not None and reach.quiet_hours:
                start = release_at(now, count / rate if rate > 0 else 0.0)
            self._start[channel], self._rate[channel] = start.timestamp(), rate

    def next_due(self, channel: str) -> float:
        rate, index = self._rate[channel], self._queued[channel]
        self._queued[channel] += 1
        at_once = int(rate * AT_ONCE_SECONDS)
        if rate <= 0 or index < at_once:
            return self._start[channel]
        return self._start[channel] + (index - at_once + 1) / rate
