"""The renewal question: a subscription ending within RENEWAL_NOTICE_DAYS is asked once whether
to keep it. The worker looks every few minutes; each question is a job with a fixed id,
scheduled in the same transaction that marks the subscription asked, so it is asked exactly
once however often the worker looks or restarts. On a channel with quiet hours it waits for
the morning. The question is the subscription flow's (`ask_renewal`: its text and buttons,
and the conversation remembers it, so a typed number or "ja" answers it)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import replace
from functools import partial

from bot.core.clock import Clock
from bot.core.content import Content
from bot.core.delivery import Deliveries
from bot.core.jobs import Job, JobHandler, JobQueue, NewJob, text_field
from bot.core.messages import Purpose
from bot.core.outreach.flow import ask_renewal
from bot.core.outreach.quiet_hours import next_allowed
from bot.core.outreach.reach import Reach
from bot.core.outreach.subscriptions import SubscriptionStore
from bot.core.store import ConversationStore

RENEWAL_JOB = "subscription_renewal"  # {"conversation"}
LOOK_EVERY_SECONDS = 300


class RenewalQuestions:
    def __init__(self, subscriptions: SubscriptionStore, jobs: JobQueue,
                 deliveries: Deliveries, content: Content, conversations: ConversationStore,
                 reaches: Mapping[str, Reach], clock: Clock) -> None:
        self.subscriptions = subscriptions
        self.conversations = conversations
        self.jobs = jobs
        self.deliveries = deliveries
        self.content = content
        self.reaches = reaches
        self.clock = clock

    def handlers(self) -> dict[str, JobHandler]:
        return {RENEWAL_JOB: self.ask}

    async def schedule_due(self) -> int:
        """Queue the question for every subscription due for it; returns how many."""
        now = self.clock()
        due = await self.subscriptions.due_for_renewal(now.timestamp())
        for subscription in due:
            reach = self.reaches.get(subscription.channel)
            when = next_allowed(now) if reach is not None and reach.quiet_hours else now
            digest = hashlib.sha256(subscription.conversation.encode()).hexdigest()[:20]
            job = NewJob(RENEWAL_JOB, {"conversation": subscription.conversation},
                         due=when.timestamp(), conversation=subscription.conversation,
                         job_id=f"renewal-{digest}-{int(subscription.expires_at)}")
            mark = partial(self.subscriptions.mark_renewal_asked_on,
                           subscription=subscription, now=now.timestamp())
            await self.jobs.schedule_many([job], also=mark)
        return len(due)

    async def ask(self, job: Job) -> None:
        """The renewal question's job: {"conversation"}."""
        conversation = text_field(job.payload, "conversation")
        subscription = await self.subscriptions.get(conversation, self.clock().timestamp())
        if subscription is None:
            return  # unsubscribed or erased meanwhile
        question = await ask_renewal(self.content, self.conversations, subscription)
        await self.deliveries.send(conversation, [replace(question, purpose=Purpose.NOTICE)])
