"""The worker process: runs due jobs, several at once (bot/core/job_runner.py: the channels'
senders, reminders, delayed messages, campaigns, the cancellations a published schedule
change makes), hands expired coach claims back to their queues, queues the subscription
renewal questions every few minutes, and writes a heartbeat.

Job handlers come from four places: the core's own jobs (`job_handlers`), outreach (campaign
sends, renewal questions), closures (bot/core/booking/closures.py) and every registered
channel's senders (bot/runtime/channels.py).
When it stops, it gives running jobs DRAIN_SECONDS, puts the others back in the queue, and lets
the sends in hand finish (`Services.critical`) before closing."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Mapping

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.coach.notify import Notifier
from bot.config import Settings
from bot.core.booking.closures import Closures, NoticeRoute, NoticeSend
from bot.core.booking.reminders import reminder_handler
from bot.core.booking.service import REMINDER_JOB, BookingService
from bot.core.booking.texts import BookingTexts
from bot.core.clock import Clock, system_clock
from bot.core.delivery import SEND_MESSAGE_JOB, Deliveries
from bot.core.handover.leads import LeadStore
from bot.core.handover.teams import Teams
from bot.core.job_runner import JobRunner
from bot.core.jobs import Job, JobHandler, NewJob, objects_field, text_field
from bot.core.keys import WORKER_HEARTBEAT
from bot.core.mail import Mailer
from bot.core.messages import Reply
from bot.core.outreach.renewals import LOOK_EVERY_SECONDS, RenewalQuestions
from bot.core.outreach.sending import CampaignSender
from bot.runtime.channels import ChannelRegistry
from bot.runtime.wiring import Services, build_services
from connectors.outbox import send_args, send_job
from connectors.webchat import WebchatChannel

log = logging.getLogger("lotsen.worker")
HEARTBEAT_TTL = 30
PRUNE_EVERY_SECONDS = 60
TICK_SECONDS = 1.0  # the heartbeat, the lead SLA monitor and the content reload run this often
DRAIN_SECONDS = 20  # at most this long for sends in hand when the worker stops


def job_handlers(deliveries: Deliveries, bookings: BookingService | None = None,
                 texts: BookingTexts | None = None) -> dict[str, JobHandler]:
    """The core's jobs: a delayed message to a conversation, and booking reminders."""
    async def send_message(job: Job) -> None:
        replies = [Reply.from_json(r) for r in objects_field(job.payload, "replies")]
        await deliveries.send(text_field(job.payload, "conversation"), replies)

    handlers: dict[str, JobHandler] = {SEND_MESSAGE_JOB: send_message}
    if bookings is not None and texts is not None:
        handlers[REMINDER_JOB] = reminder_handler(deliveries, bookings, texts)
    return handlers


def notice_routes(channels: ChannelRegistry,
                  senders: Mapping[str, JobHandler]) -> dict[str, NoticeRoute]:
    """How a closure notice reaches people on each channel: written to the web chat's log
    with its mark (one script); on a push channel, its outbox sender run at once, so the
    closure job itself holds the provider call (in doubt after a kill, never sent twice)."""
    routes: dict[str, NoticeRoute] = {}
    for name, channel in channels.channels.items():
        if isinstance(channel, WebchatChannel):
            routes[name] = NoticeRoute(writes=channel.store.append_writes)
        elif (sender := senders.get(send_job(name))) is not None:
            routes[name] = NoticeRoute(send=_sent_now(name, sender))
    return routes


def _sent_now(channel: str, sender: JobHandler) -> NoticeSend:
    async def send(user_id: str, reply: Reply) -> None:
        job = NewJob(send_job(channel), send_args(user_id, reply), due=0.0)
        await sender(Job.from_json(f"notice-{channel}", job.body(1)))
    return send


def closures(services: Services, senders: Mapping[str, JobHandler]) -> Closures:
    """The jobs that cancel the bookings a published schedule takes away and tell each person.
    A notice found `sending` is in doubt after a job lease: a live worker renews its lease."""
    facts = services.workspace.facts
    assert facts is not None
    return Closures(bookings=services.bookings, texts=services.booking_texts,
                    content=services.content, published=facts.published_schedule,
                    routes=notice_routes(services.channels, senders),
                    deliveries=services.deliveries, critical=services.critical,
                    in_doubt_after=services.settings.job_lease_seconds)


async def release_expired_claims(leads: LeadStore, teams: Teams) -> int:
    """The lead SLA monitor: claims not closed in time go back to the team's queue."""
    return sum([await leads.release_expired(team, teams.claim_timeout_seconds)
                for team in teams.teams])


async def prune_lead_streams(leads: LeadStore, teams: Teams) -> int:
    """Lead streams trimmed by age, and entries whose lead expired acknowledged and deleted."""
    return sum([await leads.prune(team) for team in teams.teams])


async def run(settings: Settings, stop: asyncio.Event, poll_seconds: float = 1.0,
              clock: Clock = system_clock) -> None:
    """Run jobs until `stop`. During a Redis outage: one warning when it starts, one info line
    when it ends, and a doubling pause between attempts (so an outage costs neither CPU nor a
    flood of log lines)."""
    services = await build_services(settings, clock)
    redis, queue = services.redis, services.jobs
    campaigns = CampaignSender(services.campaigns.store, services.subscriptions, queue,
                               services.reaches, clock, settings.campaign_max_per_day,
                               services.critical)
    renewals = RenewalQuestions(services.subscriptions, queue, services.deliveries,
                                services.content, services.engine.store, services.reaches,
                                clock)
    senders = services.channels.jobs()
    handlers = {**job_handlers(services.deliveries, services.bookings, services.booking_texts),
                **campaigns.handlers(), **renewals.handlers(),
                **closures(services, senders).handlers(), **senders}
    runner = JobRunner(queue, handlers, campaigns.dead_handlers(),
                       concurrency=settings.worker_concurrency, clock=clock)
    notifying = start_notifier(settings, services, stop, clock)
    first_delay, max_delay = 0.5, 10.0  # seconds between attempts while Redis is down
    delay, outage = first_delay, False
    next_tick = next_prune = next_renewals = 0.0
    log.info("worker_started")
    try:
        while not stop.is_set():
            try:
                if time.monotonic() >= next_tick or outage:  # once a second, not per job
                    beat = int(services.clock().timestamp())
                    await redis.set(services.keys(WORKER_HEARTBEAT), beat, ex=HEARTBEAT_TTL)
                    await release_expired_claims(services.leads, services.teams)
                    # Published content (texts, schedule, locations): one read of the
                    # version a tick, so reminders and notices say what is published.
                    await services.live_content.refresh()
                    next_tick = time.monotonic() + TICK_SECONDS
                if outage:
                    log.info("worker_redis_back")
                    delay, outage = first_delay, False
                await runner.fill()
                if time.monotonic() >= next_prune:
                    await prune_lead_streams(services.leads, services.teams)
                    next_prune = time.monotonic() + PRUNE_EVERY_SECONDS
                if time.monotonic() >= next_renewals:
                    await renewals.schedule_due()
                    next_renewals = time.monotonic() + LOOK_EVERY_SECONDS
            except (RedisConnectionError, RedisTimeoutError) as exc:
                if not outage:
                    log.warning("worker_redis_unavailable", extra={"detail": type(exc).__name__})
                    outage = True
                # Wait out the pause, but wake at once on `stop`.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)
                delay = min(delay * 2, max_delay)
                continue
            except Exception:  # keep running: one bad job must not stop the worker
                log.exception("worker_error")
            if stop.is_set():
                break
            with contextlib.suppress(RedisConnectionError, RedisTimeoutError):
                await runner.wait(poll_seconds)
    finally:
        if notifying is not None:
            try:
                await asyncio.wait_for(notifying, DRAIN_SECONDS)
            except (TimeoutError, asyncio.CancelledError):
                notifying.cancel()
        await runner.stop(DRAIN_SECONDS)
        await services.critical.drain(DRAIN_SECONDS)
        await services.close()
        log.info("worker_stopped")


def start_notifier(settings: Settings, services: Services, stop: asyncio.Event,
                   clock: Clock) -> asyncio.Task[None] | None:
    """E-mail to coaches, when LOTSEN_SMTP_URL is set (bot/coach/notify.py)."""
    mailer = Mailer(settings.smtp_url, settings.mail_from)
    if not mailer.enabled:
        return None
    notifier = Notifier(services.staff_events,
                        services.accounts,
                        services.leads, services.teams, mailer, services.keys,
                        f"{settings.public_url.rstrip('/')}/coach/", settings.digest_hour, clock)
    return asyncio.create_task(notifier.run(stop))


def main(settings: Settings) -> None:
    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run(settings, stop)

    asyncio.run(runner())
