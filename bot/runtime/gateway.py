"""The gateway process: the aiohttp application. Channels bring their own routes and background
tasks (bot/runtime/channels.py); this module adds the service routes (health, readiness,
metrics, NLU parse), the staff routes, the outreach API (bot/runtime/campaigns_api.py), and one
error middleware for all of them."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web
from aiohttp_session import setup as setup_sessions
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.accessibility.facts import StatementFacts
from bot.accessibility.routes import statement_routes
from bot.coach.accounts import Role
from bot.coach.api import CoachApi, ReplyAsJson, WindowJson, WindowOf
from bot.coach.audit import AuditLog, AuditRoutes
from bot.coach.bookings import StaffRoutes
from bot.coach.content import ContentRoutes
from bot.coach.dropin import DropinRoutes
from bot.coach.live import EventHub, LiveRoutes
from bot.coach.notices import NoticeRoutes
from bot.coach.outreach import OutreachPanel
from bot.coach.review import ReviewRoutes
from bot.coach.sessions import RedisSessionStorage
from bot.coach.stats import StatsRoutes
from bot.config import Settings
from bot.core.clock import Clock, system_clock
from bot.core.handover.leads import LeadStatus
from bot.core.keys import Keys
from bot.core.messages import Purpose
from bot.core.metrics import (
    BOOKING_ATTENDANCE,
    CONTENT_OVER_READABILITY,
    CONTENT_TEXTS,
    HTTP_ERRORS,
    LEADS_OVER_SLA,
    LEADS_WAITING,
    NOT_UNDERSTOOD_SHARE,
    REDIS_MEMORY,
)
from bot.core.nlu import NLUBusy, NLUUnavailable
from bot.core.stats.satisfaction import satisfaction_flow
from bot.core.workspace.service import Status
from bot.http import ClientAddresses, admin_refusal, bad_request, error, json_object
from bot.runtime.campaigns_api import CampaignRoutes, admin_access, export_metrics
from bot.runtime.headers import security_headers
from bot.runtime.wiring import Services, build_services, redis_client
from connectors.sms_text import preview as sms_preview
from connectors.whatsapp import CHANNEL as WHATSAPP
from connectors.whatsapp import SMS_FALLBACK, WhatsAppChannel

log = logging.getLogger("lotsen.http")
MAX_BODY_BYTES = 1024 * 1024

SERVICES = web.AppKey("services", Services)
HUB = web.AppKey("live_hub", EventHub)


def create_app(settings: Settings, clock: Clock = system_clock) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY_BYTES,
                          middlewares=[security_headers(settings), error_middleware])
    redis = redis_client(settings)
    # Coach logins: cookie sessions in Redis under the key prefix, expiring with the cookie.
    setup_sessions(app, RedisSessionStorage(
        redis, Keys(settings.key_prefix), cookie_name="lotsen_coach",
        max_age=settings.coach_session_hours * 3600, secure=settings.secure_cookies,
        path="/coach"))

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        services = await build_services(settings, clock, redis)
        app[SERVICES] = services
        app.router.add_routes(services.channels.routes())
        app.router.add_routes(StaffRoutes(services.bookings, services.booking_texts,
                                          settings.admin_token).routes())
        app.router.add_routes(CampaignRoutes(services.campaigns,
                                             admin_access(settings.admin_token)).routes())
        accounts = services.accounts
        addresses = ClientAddresses(settings.trusted_proxies, settings.limit_exempt)
        audit_log = AuditLog(redis=services.redis, keys=services.keys,
                             keep_days=settings.audit_days)
        coach_api = CoachApi(accounts=accounts, leads=services.leads, teams=services.teams,
                             content=services.content, deliveries=services.deliveries,
                             audit_log=audit_log, canned=services.static.canned,
                             clock=services.clock, addresses=addresses,
                             window_of=coach_window_of(services), stats=services.stats,
                             satisfaction=satisfaction_flow(services.engine.flows),
                             capabilities={name: channel.capabilities for name, channel
                                           in services.channels.channels.items()})
        app.router.add_routes(coach_api.routes())
        guard = coach_api.guard
        dropin = DropinRoutes(services.bookings, services.booking_texts, services.teams,
                              services.static.places, guard, audit_log)
        app.router.add_routes(dropin.routes())
        app.router.add_routes(AuditRoutes(audit_log, guard).routes())
        app.router.add_routes(ReviewRoutes(services.review, guard, services.content,
                                           services.languages).routes())
        app.router.add_routes(ContentRoutes(services.workspace, guard, audit_log,
                                            services.languages, sms_preview).routes())
        app.router.add_routes(NoticeRoutes.for_engine(services.engine, guard, audit_log,
                                                      services.static.districts).routes())
        app.router.add_routes(StatsRoutes(
            services.stats_query, services.stats, guard,
            channels=[name for name in services.channels.channels if name != "terminal"],
            languages=list(services.languages.enabled),
            districts=services.static.districts).routes())
        await services.live_content.refresh()  # published edits, before the first message
        hub = app[HUB] = EventHub(services.staff_events)
        app.router.add_routes(LiveRoutes(hub, guard, dropin.locations_of).routes())
        app.router.add_routes(OutreachPanel(services.campaigns, services.content,
                                            services.languages, services.static.districts,
                                            guard).routes())
        app.router.add_routes(CampaignRoutes(services.campaigns,
                                             guard.access(Role.OPERATOR),
                                             prefix="/coach/api/campaigns").routes())
        # lingua's models, loaded once per process before the first message (0.2 s).
        await asyncio.get_running_loop().run_in_executor(None, services.engine.detector.warm_up)
        # What start-up loaded (content, catalogs, lingua's models) lives as long as the
        # process: out of the garbage collector's sight, so its collections stay short.
        gc.freeze()
        stop = asyncio.Event()
        tasks = [asyncio.create_task(task(stop))
                 for task in [*services.channels.background(), hub.run,
                              services.live_content.run]]
        yield
        stop.set()
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await services.close()

    app.cleanup_ctx.append(lifecycle)

    async def end_live_streams(app: web.Application) -> None:
        if HUB in app:  # open event streams would hold up the shutdown
            app[HUB].close()

    app.on_shutdown.append(end_live_streams)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    app.router.add_post("/api/nlu/parse", nlu_parse)
    # The accessibility statement: its config is read here, so a mistake in it stops the start.
    app.router.add_routes(statement_routes(
        StatementFacts.load(settings.config_dir / "accessibility.yml")))
    return app


def coach_window_of(services: Services) -> WindowOf:
    """The coach panel's view of a WhatsApp conversation's 24-hour window: open until when,
    and how a coach's reply would go now (`WhatsAppChannel.outgoing`, in the language the
    sender will use). The SMS fallback counts only where SMS is configured: the sender gives
    it up otherwise, so the panel says that nothing fits."""
    channel = services.channels.channels.get(WHATSAPP)
    settings = services.settings
    sms = bool(settings.elks_username or settings.twilio_account_sid)

    async def window_of(conversation: str) -> WindowJson | None:
        name, _, number = conversation.partition(":")
        if name != WHATSAPP or not number or not isinstance(channel, WhatsAppChannel):
            return None
        going = await channel.outgoing(number, Purpose.COACH_REPLY)
        until = going.window.until if going.window.open else None
        kind, template, fallback = "none", going.template, None
        if going.free_form:
            kind, template = "text", None
        elif template is not None:
            kind = "template"
        elif going.fallback is not None and (going.fallback != SMS_FALLBACK or sms):
            kind, fallback = "fallback", going.fallback
        reply_as: ReplyAsJson = {"kind": kind,
                                 "template": template.name if template is not None else None,
                                 "language": template.language if template is not None else None,
                                 "fallback": fallback}
        left = None if until is None else \
            max(0, int(until.timestamp() - services.clock().timestamp()))
        return {"channel": WHATSAPP, "open": until is not None,
                "until": until.isoformat() if until is not None else None,
                "seconds_left": left, "reply_as": reply_as}
    return window_of


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
    if log.isEnabledFor(logging.INFO):  # the busiest path: no record built to be dropped
        log.info("request", extra={"method": request.method, "route": route,
                                   "status": response.status,
                                   "ms": round((time.perf_counter() - started) * 1000, 1)})
    return response


def _json_http_error(exc: web.HTTPException) -> web.Response:
    """aiohttp's own errors (404, 405, 413, ...) as JSON; ours are JSON already."""
    kept = {name: value for name, value in exc.headers.items()
            if name in ("Retry-After", "WWW-Authenticate", "Allow")}
    if exc.content_type == "application/json" and exc.text:
        return web.Response(status=exc.status, text=exc.text, content_type="application/json",
                            headers=kept)
    messages = {404: "Not found.", 405: "Method not allowed for this route.",
                413: f"The request body is too large (at most {MAX_BODY_BYTES} bytes)."}
    response = error(exc.status, messages.get(exc.status, exc.reason))
    response.headers.update(kept)
    return response


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    checks: dict[str, str] = {}
    warnings: list[str] = []
    try:
        await services.redis.ping()
        checks["redis"] = "ok"
        ratio = await redis_memory_ratio(services)
        if ratio is not None and ratio >= services.settings.redis_memory_warn_ratio:
            warnings.append(f"redis memory at {ratio:.0%} of maxmemory: writes will be "
                            "refused when it is full")
        warnings += await services.channels.warnings()  # e.g. a provider rejected a token
    except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
        checks["redis"] = f"down: {type(exc).__name__}"
    rasa_ok, detail = await services.rasa.status()
    checks["rasa"] = "ok" if rasa_ok else f"down: {detail}"
    ready = all(v == "ok" for v in checks.values())
    down = [name for name, v in checks.items() if v != "ok"]
    return web.json_response({"status": "ready" if ready else "not ready", "down": down,
                              "checks": checks, "warnings": warnings},
                             status=200 if ready else 503)


async def redis_memory_ratio(services: Services) -> float | None:
    """Used memory as a share of Redis's maxmemory (None when no limit is set); also a gauge."""
    info = await services.redis.info("memory")
    limit = int(info.get("maxmemory", 0) or 0)
    if not limit:
        REDIS_MEMORY.set(0)
        return None
    ratio = int(info.get("used_memory", 0)) / limit
    REDIS_MEMORY.set(ratio)
    return ratio


async def metrics(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    await redis_memory_ratio(services)
    now = services.clock().timestamp()
    for team in services.teams.teams:
        waiting = [lead for lead in await services.leads.team_leads(team)
                   if lead.status == LeadStatus.WAITING]
        LEADS_WAITING.labels(team=team).set(len(waiting))
        LEADS_OVER_SLA.labels(team=team).set(sum(  # the SLA counts the team's open time only
            1 for lead in waiting if services.teams.over_sla(team, lead.created, now)))
    await export_metrics(services.campaigns)
    for row in await services.review.weeks(services.languages.enabled, count=2):
        for language, counts in row["languages"].items():
            if counts["share"] is not None:
                NOT_UNDERSTOOD_SHARE.labels(language=language, week=row["week"]).set(
                    counts["share"])
    for location in services.bookings.schedule.dropin_locations():
        for status, count in (await services.bookings.store.attendance_counts(location)).items():
            BOOKING_ATTENDANCE.labels(location=location, status=status).set(count)
    for language, texts in (await services.workspace.summary()).items():
        for status in Status:
            CONTENT_TEXTS.labels(language=language, status=status).set(texts[status])
        CONTENT_OVER_READABILITY.labels(language=language).set(texts["over_threshold"])
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
    except NLUBusy as exc:
        response = error(503, f"NLU is busy, try again in a moment: {exc}")
        response.headers["Retry-After"] = "1"
        return response
    except NLUUnavailable as exc:
        return error(503, f"NLU is unavailable: {exc}")
    language = services.engine.detector.detect(text, min_words=1) or services.languages.default
    answer = services.engine.specific_answer(parsed)
    call = services.engine.closest_call(parsed)
    return web.json_response({
        "intent": {"name": parsed.intent, "confidence": round(parsed.confidence, 4)},
        "language": language,
        "entities": [e.to_json() for e in parsed.entities],
        # The specific answer the bot would give (None: the topic's own answer).
        "answer": {"name": answer, "confidence": round(parsed.answer_confidence, 4)}
        if answer else None,
        # What the answer selector chose before the threshold (for tuning it; see make eval).
        "selected": {"name": parsed.answer, "confidence": round(parsed.answer_confidence, 4)}
        if parsed.answer else None,
        # The closest tie the bot could ask about ("did you mean"), with its gap: asked when the
        # gap is under LOTSEN_DISAMBIGUATION_MARGIN (`asked`); make eval sweeps the margin.
        "close_call": {"options": [call.first, call.second], "gap": round(call.gap, 4),
                       "asked": services.engine.close_call(parsed) is not None}
        if call is not None else None,
    })
