"""The campaign operations the API and the CLI share: create (checked, previewed, stored as a
draft: nothing is sent), send, cancel, status and list. Sending itself is the worker's
(bot/core/outreach/sending.py): `send` only schedules the campaign's start job.

Decisions: sending a campaign that is already scheduled, sending or done is accepted again
and changes nothing (idempotent); sending a cancelled one is a `Conflict`, as is cancelling
one that has finished. Cancelling twice is fine.
"""

from __future__ import annotations

import hashlib
import secrets
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import TypedDict

from bot.core.clock import Clock
from bot.core.jobs import JobQueue
from bot.core.outreach.campaigns import (
    Campaign,
    CampaignStatus,
    CampaignStore,
    Preview,
    Progress,
    RecipientState,
)
from bot.core.outreach.drafts import CampaignError, read_draft
from bot.core.outreach.quiet_hours import STOCKHOLM
from bot.core.outreach.reach import Reach
from bot.core.outreach.subscriptions import Audience, SubscriptionStore


class AudienceJSON(TypedDict):
    topics: list[str]
    districts: list[str]
    channels: list[str]
    languages: list[str]


class CampaignView(TypedDict):
    """A campaign as the API and the CLI show it: definition, status and progress."""

    id: str
    name: str
    status: CampaignStatus
    recipients: int  # once started: queued for it; before: the preview's count
    queued: int
    sent: int
    delivered: int
    failed: int
    skipped: int
    replies: int
    skipped_reasons: dict[str, int]
    in_doubt: int
    by_channel: dict[str, dict[str, int]]
    created_at: str | None  # ISO 8601, Stockholm time
    send_at: str | None
    started_at: str | None
    audience: AudienceJSON
    languages: list[str]
    fallback: str | None
    preview: Preview


START_JOB = "campaign_start"      # {"campaign"}: resolve the audience, queue one job each
MESSAGE_JOB = "campaign_message"  # {"campaign", "conversation"}: one person's message


class NotFound(LookupError):
    pass


class Conflict(Exception):
    """The campaign is in a state that does not allow this."""


def start_job_id(campaign_id: str) -> str:
    return f"campaign-start-{campaign_id}"


def message_job_id(campaign_id: str, conversation: str) -> str:
    """A fixed job id per campaign and person (queueing twice makes one job); a digest, so
    the queue's index of job ids names nobody."""
    digest = hashlib.sha256(conversation.encode()).hexdigest()[:20]
    return f"campaign-{campaign_id}-{digest}"


def iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, STOCKHOLM).isoformat(timespec="seconds")


class CampaignService:
    def __init__(self, store: CampaignStore, subscriptions: SubscriptionStore, jobs: JobQueue,
                 reaches: Mapping[str, Reach], languages: Collection[str],
                 districts: Sequence[str], clock: Clock) -> None:
        self.store = store
        self.subscriptions = subscriptions
        self.jobs = jobs
        self.reaches = reaches
        self.languages = languages
        self.districts = districts
        self.clock = clock

    def _now(self) -> float:
        return self.clock().timestamp()

    @property
    def channels(self) -> list[str]:
        """The channels that can carry a campaign now."""
        return sorted(name for name, reach in self.reaches.items() if reach.available)

    async def create(self, body: Mapping[str, object]) -> Campaign:
        """Check the request (a `CampaignError` changes nothing), preview it, store a draft."""
        now = self._now()
        draft = read_draft(body, languages=self.languages, districts=self.districts,
                           channels=self.channels, now=now)
        self.check_texts(draft.texts, draft.audience.channels or self.channels)
        preview = await self.preview(draft.audience, draft.texts, draft.fallback)
        campaign = Campaign(id=secrets.token_hex(5), name=draft.name, audience=draft.audience,
                            texts=draft.texts, fallback=draft.fallback, send_at=draft.send_at,
                            created_at=now, preview=preview)
        await self.store.create(campaign)
        return campaign

    def check_texts(self, texts: Mapping[str, str], channels: Collection[str]) -> None:
        """Refuse (`CampaignError`) a text one of the `channels` cannot send as written (e.g.
        longer than WhatsApp's campaign template leaves room for), rather than cut it."""
        for language, text in texts.items():
            for name in sorted(channels):
                reach = self.reaches.get(name)
                reason = reach.refuses(language, text) if reach is not None else None
                if reason:
                    raise CampaignError(f"The text for {language!r} cannot go by {name}: "
                                        f"{reason}.")

    async def preview(self, audience: Audience, texts: dict[str, str],
                      fallback: str | None) -> Preview:
        """Who would get what if it were sent now (the daily limit aside): recipients by
        channel and by the language of the text they get, the paid segments that costs,
        the subscribers' languages without a text, the recipients whose channel has no
        template for their text's language (per channel and language: skipped), and who is
        skipped and why."""
        probe = Campaign("", "", audience, texts, fallback, None, 0.0)
        by_channel: Counter[str] = Counter()
        by_language: Counter[str] = Counter()
        skipped: Counter[str] = Counter()
        missing: set[str] = set()
        no_template: dict[str, Counter[str]] = {}
        segments = 0
        for subscription in await self.subscriptions.matching(audience, self._now()):
            reach = self.reaches.get(subscription.channel)
            user_id = subscription.conversation.split(":", 1)[1]
            if reach is None or not reach.available:
                skipped["channel_unavailable"] += 1
                continue
            if await reach.opted_out(user_id):
                skipped["opted_out"] += 1
                continue
            if subscription.language not in texts:
                missing.add(subscription.language)
            chosen = probe.text_for(subscription.language)
            if chosen is None:
                skipped["no_text"] += 1
                continue
            if not reach.carries(chosen[0]):
                skipped["no_template"] += 1
                no_template.setdefault(subscription.channel, Counter())[chosen[0]] += 1
                continue
            by_channel[subscription.channel] += 1
            by_language[chosen[0]] += 1
            segments += reach.segments(chosen[1])
        return {"recipients": sum(by_channel.values()), "by_channel": dict(by_channel),
                "by_language": dict(by_language), "segments": segments,
                "missing_languages": sorted(missing),
                "missing_templates": {channel: dict(sorted(counts.items()))
                                      for channel, counts in sorted(no_template.items())},
                "skipped": sum(skipped.values()), "skipped_reasons": dict(skipped)}

    def costs(self, texts: Mapping[str, str]) -> dict[str, dict[str, int]]:
        """What one message of each text costs per paid channel (e.g. {"sv": {"sms": 2}}),
        for the operator composing it; free channels are left out."""
        return {language: {name: units for name, reach in sorted(self.reaches.items())
                           if (units := reach.segments(text.strip())) > 0}
                for language, text in texts.items()}

    async def get(self, campaign_id: str) -> Campaign:
        valid = campaign_id.isascii() and campaign_id.isalnum() and len(campaign_id) <= 32
        campaign = await self.store.get(campaign_id) if valid else None
        if campaign is None:
            raise NotFound(f"No campaign {campaign_id!r}.")
        return campaign

    async def send(self, campaign_id: str) -> tuple[Campaign, bool]:
        """Schedule the campaign's start at its `send_at` (or now). Returns the campaign and
        whether this call scheduled it (False: it already was; nothing changed)."""
        campaign = await self.get(campaign_id)
        before = await self.store.set_status(campaign_id, CampaignStatus.SCHEDULED,
                                             CampaignStatus.DRAFT)
        if before is CampaignStatus.CANCELLED:
            raise Conflict(f"Campaign {campaign_id} was cancelled; create a new one.")
        if before in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED):
            # SCHEDULED again: a crash may have lost the job
            due = max(self._now(), campaign.send_at or 0.0)
            await self.jobs.schedule(START_JOB, {"campaign": campaign_id}, due=due,
                                     job_id=start_job_id(campaign_id))
        return await self.get(campaign_id), before is CampaignStatus.DRAFT

    async def cancel(self, campaign_id: str) -> Campaign:
        """Stop what has not been sent: the start job and every queued message (counted as
        skipped). A message being handed to a provider at this moment may still go."""
        campaign = await self.get(campaign_id)
        progress = await self.store.progress(campaign_id)
        if self.status_of(campaign, progress) is CampaignStatus.DONE:
            raise Conflict(f"Campaign {campaign_id} has been sent; nothing is left to stop.")
        await self.store.set_status(campaign_id, CampaignStatus.CANCELLED, CampaignStatus.DRAFT,
                                    CampaignStatus.SCHEDULED, CampaignStatus.SENDING)
        await self.jobs.cancel(start_job_id(campaign_id))
        for conversation in await self.store.queued(campaign_id):
            await self.jobs.cancel(message_job_id(campaign_id, conversation))
            await self.store.move(campaign_id, conversation, RecipientState.SKIPPED,
                                  "cancelled")
        return await self.get(campaign_id)

    @staticmethod
    def status_of(campaign: Campaign, progress: Progress) -> CampaignStatus:
        if campaign.status is CampaignStatus.SENDING and campaign.queued_at is not None and \
                progress.queued == 0:
            return CampaignStatus.DONE
        return campaign.status

    async def status(self, campaign_id: str) -> CampaignView:
        campaign = await self.get(campaign_id)
        return self.view(campaign, await self.store.progress(campaign_id))

    def view(self, campaign: Campaign, progress: Progress) -> CampaignView:
        started = campaign.started_at is not None
        return {"id": campaign.id, "name": campaign.name,
                "status": self.status_of(campaign, progress),
                "recipients": progress.recipients if started
                else campaign.preview.get("recipients", 0),
                "queued": progress.queued, "sent": progress.sent,
                "delivered": progress.delivered, "failed": progress.failed,
                "skipped": progress.skipped, "replies": progress.replies,
                "skipped_reasons": progress.skipped_reasons, "in_doubt": progress.in_doubt,
                "by_channel": progress.by_channel,
                "created_at": iso(campaign.created_at), "send_at": iso(campaign.send_at),
                "started_at": iso(campaign.started_at),
                "audience": {"topics": list(campaign.audience.topics),
                             "districts": list(campaign.audience.districts),
                             "channels": list(campaign.audience.channels),
                             "languages": list(campaign.audience.languages)},
                "languages": sorted(campaign.texts), "fallback": campaign.fallback,
                "preview": campaign.preview}

    async def list(self) -> list[CampaignView]:
        """Every campaign, newest first."""
        views = []
        for campaign_id in await self.store.ids():
            campaign = await self.store.get(campaign_id)
            if campaign is not None:
                views.append(self.view(campaign, await self.store.progress(campaign_id)))
        return views
