"""Everything a push channel (Telegram, SMS) sends goes through the outbox: one job per message
in Redis, sent by the worker with rate limits and retries. Nothing is lost when a process
restarts. The job's name is `send_job(channel)`; the channel's own module registers the sender
under that name. Jobs are indexed by the person's conversation, so erasure removes them."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.core.jobs import JobQueue, NewJob
from bot.core.messages import Reply
from bot.core.redis_types import StrPipeline


def send_job(channel: str) -> str:
    """The name of the job that sends one message on `channel`."""
    return f"send_{channel}"


def send_args(user_id: str, reply: Reply, *, force: bool = False,
              language: str | None = None) -> dict[str, object]:
    """What one send job carries (its channel's sender reads it): the outbox queues it, and a
    closure notice has the sender run it at once (bot/core/booking/closures.py)."""
    return {"to": user_id, "reply": reply.to_json(), "force": force, "language": language}


class Outbox:
    def __init__(self, jobs: JobQueue, channel: str) -> None:
        self.jobs = jobs
        self.channel = channel
        self.job = send_job(channel)

    async def send(self, user_id: str, replies: Sequence[Reply], *, force: bool = False,
                   language: str | None = None, indexed: bool = True,
                   also: Callable[[StrPipeline], None] | None = None) -> list[str]:
        """Queue the replies in order, in one transaction (with `also`'s commands). `indexed`
        False: not filed under the person (the confirmation that their data was erased)."""
        now = self.jobs.clock().timestamp()
        conversation = f"{self.channel}:{user_id}" if indexed else None
        return await self.jobs.schedule_many(
            [NewJob(self.job, send_args(user_id, reply, force=force, language=language),
                    due=now + index * 0.001, conversation=conversation)  # keep the order
             for index, reply in enumerate(replies)], also=also)
