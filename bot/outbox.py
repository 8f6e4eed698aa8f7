"""Everything sent to Telegram or SMS goes through the outbox: one job per message in Redis,
sent by the worker with rate limits and retries. Nothing is lost when a process restarts."""

from __future__ import annotations

import time
from collections.abc import Sequence

from bot.jobs import JobQueue
from bot.messages import Reply

SEND_JOB = "send_{channel}"
CHANNELS = ("telegram", "sms")


class Outbox:
    def __init__(self, jobs: JobQueue) -> None:
        self.jobs = jobs

    async def send(self, channel: str, user_id: str, replies: Sequence[Reply], *,
                   force: bool = False, language: str | None = None) -> list[str]:
        if channel not in CHANNELS:
            raise ValueError(f"the outbox sends {CHANNELS}, not {channel!r}")
        now = time.time()
        return [await self.jobs.schedule(SEND_JOB.format(channel=channel),
                                         {"to": user_id, "reply": reply.to_json(),
                                          "force": force, "language": language},
                                         due=now + index * 0.001)  # keep the order
                for index, reply in enumerate(replies)]

    def delivery(self, channel: str):  # type: ignore[no-untyped-def]
        """A `Deliveries` entry for `channel` (coach replies, reminders, broadcasts)."""
        async def deliver(user_id: str, replies: Sequence[Reply]) -> None:
            await self.send(channel, user_id, replies)
        return deliver
