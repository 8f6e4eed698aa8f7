"""The worker process: runs scheduled jobs (delayed messages now; reminders and the outbound
sender plug in as more job handlers) and writes a heartbeat that `/readyz` reports."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from typing import Any

import aiohttp
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.app import booking_service, load_content, redis_client
from bot.booking.service import REMINDER_JOB, BookingService
from bot.booking.texts import BookingTexts
from bot.config import Settings
from bot.delivery import Deliveries
from bot.handover.leads import LeadStore
from bot.handover.teams import Teams
from bot.jobs import JobHandler, JobQueue
from bot.messages import Reply
from bot.optout import OptOuts
from bot.outbox import Outbox
from bot.ratelimit import SendLimiter
from connectors.sms import SmsSender
from connectors.telegram import CallbackData, TelegramSender, make_bot
from connectors.webchat import WebchatConnector, WebchatStore

log = logging.getLogger("lotsen.worker")
HEARTBEAT_TTL = 30


def heartbeat_key(prefix: str) -> str:
    return f"{prefix}:worker:heartbeat"


def sender_handlers(settings: Settings, redis: Redis, http: aiohttp.ClientSession
                    ) -> dict[str, JobHandler]:
    """The outbox's senders: one job handler per channel (and Telegram's callback answers)."""
    prefix = settings.key_prefix
    limiter, optouts = SendLimiter(redis, prefix), OptOuts(redis, prefix)
    sms = SmsSender(http, redis, prefix, limiter, optouts, settings)
    handlers: dict[str, JobHandler] = {"send_sms": sms.send}
    if settings.telegram_token:
        telegram = TelegramSender(make_bot(settings.telegram_token, settings.telegram_api_url),
                                  limiter, optouts, CallbackData(redis, prefix),
                                  settings.telegram_rate_per_second,
                                  settings.telegram_chat_rate_per_second)
        handlers.update(send_telegram=telegram.send,
                        telegram_answer_callback=telegram.answer_callback)
    return handlers


def job_handlers(deliveries: Deliveries, bookings: BookingService | None = None,
                 texts: BookingTexts | None = None) -> dict[str, JobHandler]:
    async def send_message(args: dict[str, Any]) -> None:
        replies = [Reply.from_json(r) for r in args["replies"]]
        await deliveries.send(args["conversation"], replies)

    handlers: dict[str, JobHandler] = {"send_message": send_message}
    if bookings is not None and texts is not None:
        handlers[REMINDER_JOB] = reminder_handler(deliveries, bookings, texts)
    return handlers


def reminder_handler(deliveries: Deliveries, bookings: BookingService,
                     texts: BookingTexts) -> JobHandler:
    """Send a booking's reminder once: skipped if cancelled, and marked before sending so a
    job run again after a restart or an expired lease never sends it twice."""
    store = bookings.store

    async def remind(args: dict[str, Any]) -> None:
        booking = await store.get(args["code"])
        if booking is None or booking.status != "booked":
            return
        marker = f"{store.booking_key(booking.code)}:reminded"
        if not await store.redis.set(marker, int(time.time()), nx=True,
                                     exat=booking.end + store.retention):
            return
        await deliveries.send(booking.conversation, [texts.reminder(booking)])

    return remind


async def release_expired_claims(leads: LeadStore, teams: Teams) -> int:
    """The lead SLA monitor: claims not closed in time go back to the team's queue."""
    return sum([await leads.release_expired(team, teams.claim_timeout_seconds)
                for team in teams.teams])


async def run(settings: Settings, stop: asyncio.Event, poll_seconds: float = 1.0) -> None:
    redis = redis_client(settings)
    http = aiohttp.ClientSession()
    deliveries = Deliveries()
    webchat_store = WebchatStore(redis, settings.key_prefix, settings.retention_seconds)
    deliveries.register("webchat", WebchatConnector.deliver_to(webchat_store))
    queue = JobQueue(redis, settings.key_prefix)
    outbox = Outbox(queue)
    for channel in ("telegram", "sms"):
        deliveries.register(channel, outbox.delivery(channel))
    static = load_content(settings)
    bookings = booking_service(settings, redis, static.schedule)
    texts = BookingTexts(static.content, static.schedule, static.places)
    handlers = {**job_handlers(deliveries, bookings, texts),
                **sender_handlers(settings, redis, http)}
    leads = LeadStore(redis, settings.key_prefix, settings.retention_seconds)
    log.info("worker_started")
    try:
        while not stop.is_set():
            try:
                await redis.set(heartbeat_key(settings.key_prefix), int(time.time()),
                                ex=HEARTBEAT_TTL)
                await queue.run_due(handlers)
                await release_expired_claims(leads, static.teams)
            except (RedisConnectionError, RedisTimeoutError) as exc:
                log.warning("worker_redis_unavailable", extra={"detail": type(exc).__name__})
            except Exception:  # keep running: one bad job must not stop the worker
                log.exception("worker_error")
            if stop.is_set():
                break
            with contextlib.suppress(TimeoutError, RedisConnectionError, RedisTimeoutError):
                await asyncio.wait_for(queue.wait_for_work(poll_seconds), timeout=poll_seconds + 1)
    finally:
        await http.close()
        await redis.aclose()
        log.info("worker_stopped")


def main(settings: Settings) -> None:
    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run(settings, stop)

    asyncio.run(runner())
