"""The gateway: builds the aiohttp application and wires connectors to the dialogue engine."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from aiohttp_session import setup as setup_sessions
from aiohttp_session.redis_storage import RedisStorage
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.booking.flow import BookingFlow
from bot.booking.schedule import Schedule
from bot.booking.service import BookingService
from bot.booking.store import BookingStore
from bot.booking.texts import BookingTexts
from bot.booking.when import WhenParser
from bot.coach.accounts import CoachAccounts
from bot.coach.api import CoachApi
from bot.config import Settings
from bot.content import Content
from bot.delivery import Deliveries
from bot.dialogue import DialogueEngine
from bot.handover.flow import HandoverFlow
from bot.handover.leads import LeadStore
from bot.handover.teams import Teams
from bot.http import admin_refusal, bad_request, error, json_object
from bot.i18n import Catalogs, LanguageTable
from bot.jobs import JobQueue
from bot.language import LanguageDetector
from bot.metrics import HTTP_ERRORS, LEADS_OVER_SLA, LEADS_WAITING
from bot.nlu import NLUUnavailable, RasaClient
from bot.optout import Keywords, OptOuts
from bot.outbox import Outbox
from bot.places import Places
from bot.staff import StaffRoutes
from bot.store import ConversationStore
from connectors.inbox import ChannelInbox
from connectors.sms import SmsConnector
from connectors.telegram import CallbackData, TelegramConnector, make_bot
from connectors.webchat import WebchatConnector, WebchatStore

log = logging.getLogger("lotsen.http")
MAX_BODY_BYTES = 1024 * 1024


@dataclass
class Services:
    settings: Settings
    redis: Redis
    http: aiohttp.ClientSession
    rasa: RasaClient
    languages: LanguageTable
    detector: LanguageDetector
    engine: DialogueEngine
    deliveries: Deliveries
    bookings: BookingService
    booking_texts: BookingTexts
    leads: LeadStore
    teams: Teams
    content: Content


SERVICES = web.AppKey("services", Services)


def redis_client(settings: Settings) -> Redis:
    return Redis.from_url(settings.redis_url, decode_responses=True, socket_timeout=2.0,
                          socket_connect_timeout=2.0, health_check_interval=15)


def load_languages(settings: Settings) -> LanguageTable:
    return LanguageTable.load(settings.content_dir / "languages.yml")


@dataclass(frozen=True)
class StaticContent:
    """Everything loaded from files at start-up (validated: a mistake stops the start)."""

    languages: LanguageTable
    content: Content
    places: Places
    schedule: Schedule
    teams: Teams


def load_content(settings: Settings) -> StaticContent:
    languages = load_languages(settings)
    catalogs = Catalogs(settings.locales_dir, languages)
    content = Content(settings.content_dir / "replies.yml", catalogs, languages)
    places = Places.load(settings.config_dir / "locations.yml")
    schedule = Schedule.load(settings.config_dir / "dropin.yml",
                             {loc.id for loc in places.locations})
    teams = Teams.load(settings.config_dir / "teams.yml")
    return StaticContent(languages, content, places, schedule, teams)


def booking_service(settings: Settings, redis: Redis, schedule: Schedule) -> BookingService:
    store = BookingStore(redis, settings.key_prefix, settings.retention_seconds)
    return BookingService(schedule, store, JobQueue(redis, settings.key_prefix))


async def build_services(settings: Settings) -> Services:
    static = load_content(settings)
    languages, content, places = static.languages, static.content, static.places
    redis = redis_client(settings)
    http = aiohttp.ClientSession()
    rasa = RasaClient(http, settings.rasa_url, settings.rasa_token, settings.nlu_timeout_seconds)
    detector = LanguageDetector(languages)
    store = ConversationStore(redis, settings.key_prefix, settings.retention_seconds)
    bookings = booking_service(settings, redis, static.schedule)
    texts = BookingTexts(content, static.schedule, places)
    when = WhenParser(settings.content_dir / "dates.yml",
                      [languages.languages[c].babel_locale for c in languages.enabled])
    flow = BookingFlow(bookings, texts, content, places, when)
    leads = LeadStore(redis, settings.key_prefix, settings.retention_seconds)
    handover = HandoverFlow(leads, static.teams, content, store)
    engine = DialogueEngine(store=store, nlu=rasa, content=content, languages=languages,
                            detector=detector, places=places, threshold=settings.nlu_threshold,
                            max_message_chars=settings.max_message_chars,
                            rate_limit_per_minute=settings.rate_limit_per_minute,
                            booking=flow, handover=handover,
                            erasers=[bookings.erase, leads.erase_user])
    return Services(settings, redis, http, rasa, languages, detector, engine, Deliveries(),
                    bookings, texts, leads, static.teams, content)


def create_app(settings: Settings) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES,
                          middlewares=[error_middleware])
    # Coach logins: cookie sessions stored in Redis (this client returns bytes, as
    # aiohttp-session expects), under the key prefix, expiring with the cookie.
    session_redis = Redis.from_url(settings.redis_url, socket_timeout=2.0,
                                   socket_connect_timeout=2.0)
    setup_sessions(app, RedisStorage(
        session_redis, cookie_name="lotsen_coach", key_factory=lambda: secrets.token_urlsafe(32),
        max_age=settings.coach_session_hours * 3600, httponly=True, samesite="Strict",
        secure=settings.cookie_secure, domain=None, path="/coach"))

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        services = await build_services(settings)
        app[SERVICES] = services
        webchat = WebchatConnector(
            services.engine,
            WebchatStore(services.redis, settings.key_prefix, settings.retention_seconds),
            services.languages)
        services.deliveries.register("webchat", webchat.deliver)
        app.router.add_routes(webchat.routes())
        app.router.add_routes(StaffRoutes(services.bookings, services.booking_texts,
                                          settings.admin_token).routes())
        accounts = CoachAccounts(services.redis, settings.key_prefix, services.teams)
        app.router.add_routes(CoachApi(accounts, services.leads, services.teams,
                                       services.content, services.deliveries).routes())
        polling = add_push_channels(app, services)
        yield
        if polling is not None:
            polling[0].set()
            polling[1].cancel()
        await services.http.close()
        await services.redis.aclose()
        await session_redis.aclose()

    app.cleanup_ctx.append(lifecycle)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    app.router.add_post("/api/nlu/parse", nlu_parse)
    return app


def add_push_channels(app: web.Application, services: Services
                      ) -> tuple[asyncio.Event, asyncio.Task[None]] | None:
    """Telegram and SMS: webhooks in, replies out through the outbox (sent by the worker).
    Returns the polling task when Telegram has a token but no public webhook URL."""
    settings, redis, prefix = services.settings, services.redis, services.settings.key_prefix
    jobs = JobQueue(redis, prefix)
    outbox = Outbox(jobs)
    for channel in ("telegram", "sms"):
        services.deliveries.register(channel, outbox.delivery(channel))
    inbox = ChannelInbox(services.engine, outbox, OptOuts(redis, prefix),
                         Keywords(settings.content_dir / "languages.yml"), redis, prefix)
    bot = make_bot(settings.telegram_token, settings.telegram_api_url) \
        if settings.telegram_token else None
    telegram = TelegramConnector(inbox, bot, settings.telegram_webhook_secret,
                                 CallbackData(redis, prefix), jobs)
    app.router.add_routes(telegram.routes())
    sms = SmsConnector(inbox, redis, prefix, elks_secret=settings.elks_webhook_secret,
                       twilio_token=settings.twilio_auth_token, public_url=settings.public_url,
                       retention_seconds=settings.retention_seconds)
    app.router.add_routes(sms.routes())
    if bot is None or settings.public_url:
        return None
    stop = asyncio.Event()
    return stop, asyncio.create_task(telegram.poll(stop))


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure becomes a JSON error with a clear message, never a stack trace."""
    started = time.perf_counter()
    route = request.match_info.route.resource.canonical if request.match_info.route.resource \
        else "unmatched"
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = _json_http_error(exc)
    except (RedisConnectionError, RedisTimeoutError):
        log.warning("redis_unavailable", extra={"route": route})
        response = error(503, "The service is temporarily unavailable (storage is not "
                              "reachable). Please try again in a moment.")
    except Exception:
        log.exception("unhandled_error", extra={"route": route})
        response = error(500, "Something went wrong on our side. Please try again.")
    if response.status >= 400:
        HTTP_ERRORS.labels(route=route, status=str(response.status)).inc()
    log.info("request", extra={"method": request.method, "route": route,
                               "status": response.status,
                               "ms": round((time.perf_counter() - started) * 1000, 1)})
    return response


def _json_http_error(exc: web.HTTPException) -> web.Response:
    """aiohttp's own errors (404, 405, 413, ...) as JSON; ours are JSON already."""
    if exc.content_type == "application/json" and exc.text:
        return web.Response(status=exc.status, text=exc.text, content_type="application/json")
    messages = {404: "Not found.", 405: "Method not allowed for this route.",
                413: f"The request body is too large (at most {MAX_BODY_BYTES} bytes)."}
    return error(exc.status, messages.get(exc.status, exc.reason))


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    checks: dict[str, str] = {}
    try:
        await services.redis.ping()
        checks["redis"] = "ok"
    except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
        checks["redis"] = f"down: {type(exc).__name__}"
    rasa_ok, detail = await services.rasa.status()
    checks["rasa"] = "ok" if rasa_ok else f"down: {detail}"
    ready = all(v == "ok" for v in checks.values())
    down = [name for name, v in checks.items() if v != "ok"]
    return web.json_response({"status": "ready" if ready else "not ready", "down": down,
                              "checks": checks}, status=200 if ready else 503)


async def metrics(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    now = time.time()
    for team in services.teams.teams:
        waiting = [lead for lead in await services.leads.team_leads(team)
                   if lead.status == "waiting"]
        LEADS_WAITING.labels(team=team).set(len(waiting))
        LEADS_OVER_SLA.labels(team=team).set(sum(
            1 for lead in waiting if lead.waiting_seconds(now) > services.teams.sla_seconds))
    response = web.Response(body=generate_latest())
    response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
    return response


async def nlu_parse(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    token = services.settings.admin_token
    refused = admin_refusal(request, token)
    if refused is not None:
        return refused
    body = await json_object(request)
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise bad_request('Send {"text": "..."} with a non-empty string.')
    if len(text) > services.settings.max_message_chars:
        raise bad_request(f"Text is longer than {services.settings.max_message_chars} characters.")
    try:
        parsed = await services.rasa.parse(text)
    except NLUUnavailable as exc:
        return error(503, f"NLU is unavailable: {exc}")
    language = services.detector.detect(text, min_words=1) or services.languages.default
    return web.json_response({
        "intent": {"name": parsed.intent, "confidence": round(parsed.confidence, 4)},
        "language": language,
        "entities": [e.to_json() for e in parsed.entities],
    })
