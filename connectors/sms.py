"""SMS through 46elks and Twilio: inbound webhooks (authenticated), delivery reports, and the
sender the worker runs for the outbox. Replies are plain text with numbered menus, counted in
segments (connectors.sms_text); each person is answered through the provider they wrote through."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import aiohttp
from aiohttp import BasicAuth, web
from prometheus_client import Counter
from redis.asyncio import Redis

from bot.config import networks
from bot.core.jobs import GiveUp, JobHandler, RetryLater
from bot.core.keys import Erasure, Keys, Owner, declare
from bot.core.messages import Capabilities, Reply
from bot.http import ClientAddresses, bad_request, error, form_fields
from connectors.base import ChannelContext
from connectors.inbox import Delivery
from connectors.optout import OptOuts
from connectors.outbox import send_job
from connectors.push import PushChannel
from connectors.send_limits import SendLimiter
from connectors.sms_text import render, segments

log = logging.getLogger("lotsen.sms")
CHANNEL = "sms"
MAX_INBOUND = 2000
TWIML_EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
SMS_SEGMENTS = Counter("lotsen_sms_segments_total", "SMS segments sent", ["encoding"])
PROVIDER = declare("sms:provider:{number}", owner=Owner.CONVERSATION,
                   expiry="the retention period", erasure=Erasure.EXPIRES,
                   note="which provider a number wrote through, to answer the same way")
STATUS = declare("sms:status:{message}", owner=Owner.SYSTEM, expiry="the retention period",
                 erasure=Erasure.EXPIRES, note="a provider's delivery report")


def twilio_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """Twilio's X-Twilio-Signature: HMAC-SHA1 of the URL followed by the sorted POST params."""
    signed = url + "".join(f"{key}{params[key]}" for key in sorted(params))
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def status_callback_url(public_url: str, secret: str) -> str:
    """The delivery-report URL for 46elks: the secret in the userinfo, which HTTP clients send
    as an Authorization header, so it never appears in a request line or a proxy's log."""
    parts = urlsplit(public_url.rstrip("/"))
    netloc = f"lotsen:{quote(secret, safe='')}@{parts.hostname or ''}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, f"{parts.path}/sms/46elks/status", "", ""))


class SmsKeys:
    def __init__(self, keys: Keys) -> None:
        self.keys = keys

    def provider(self, number: str) -> str:
        return self.keys(PROVIDER, number=number)

    def status(self, provider_id: str) -> str:
        return self.keys(STATUS, message=provider_id)


class SmsChannel(PushChannel):
    name = CHANNEL
    # A numbered menu instead of buttons; every segment is paid; the number itself is a way
    # for a coach to reach the person.
    capabilities = Capabilities(buttons=False, max_reply_chars=480, short_replies=True,
                                address_is_phone=True)

    def __init__(self, context: ChannelContext) -> None:
        super().__init__(context)
        settings = context.settings
        self.redis = context.redis
        self.keys = SmsKeys(context.keys)
        self.elks_secret = settings.elks_webhook_secret
        self.elks_status_secret = settings.elks_status_secret
        self.elks_sources = networks(settings.elks_source_addresses)
        self.addresses = ClientAddresses(settings.trusted_proxies)
        self.twilio_token = settings.twilio_auth_token
        self.public_url = settings.public_url.rstrip("/")
        self.retention = settings.retention_seconds

    async def erase(self, number: str) -> None:
        await self.redis.delete(self.keys.provider(number))

    def jobs(self) -> dict[str, JobHandler]:
        sender = SmsSender(self.context.http, self.redis, self.keys, self.limiter, self.optouts,
                           self.context.settings)
        return {send_job(CHANNEL): sender.send}

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/sms/46elks", self.elks_inbound),
                web.post("/sms/46elks/status", self.elks_status),
                web.post("/sms/twilio", self.twilio_inbound),
                web.post("/sms/twilio/status", self.twilio_status)]

    # ------------------------------------------------------------------ 46elks
    def _elks_refusal(self, request: web.Request, secret: str, name: str) -> web.Response | None:
        """46elks calls with HTTP basic auth (the userinfo of the URL it was given), never a
        secret in the query string; optionally only from its own addresses."""
        if not secret:
            return error(503, f"46elks is not configured ({name}).")
        if self.elks_sources:
            address = self.addresses.of(request)
            if address is None or not any(address in net for net in self.elks_sources):
                return error(403, "This address may not call the 46elks webhook.")
        try:
            given = BasicAuth.decode(request.headers.get("Authorization", "")).password
        except ValueError:
            given = ""
        if not hmac.compare_digest(given.encode(), secret.encode()):
            refused = error(401, "Wrong or missing credentials (HTTP basic auth).")
            refused.headers["WWW-Authenticate"] = 'Basic realm="lotsen"'
            return refused
        return None

    async def elks_inbound(self, request: web.Request) -> web.Response:
        refused = self._elks_refusal(request, self.elks_secret, "LOTSEN_ELKS_WEBHOOK_SECRET")
        if refused is not None:
            return refused
        form = await form_fields(request)
        sender, text, message_id = form.get("from"), form.get("message"), form.get("id")
        if not (sender and text is not None and message_id):
            raise bad_request("46elks webhook needs the form fields from, to, message and id.")
        await self._inbound("46elks", sender, text, message_id)
        return web.Response(text="")  # an empty answer: 46elks sends no SMS back by itself

    async def elks_status(self, request: web.Request) -> web.Response:
        refused = self._elks_refusal(request, self.elks_status_secret,
                                     "LOTSEN_ELKS_STATUS_SECRET")
        if refused is not None:
            return refused
        form = await form_fields(request)
        await self._record_status(form.get("id", ""), form.get("status", ""))
        return web.Response(text="")

    # ------------------------------------------------------------------ Twilio
    async def _twilio_refusal(self, request: web.Request) -> tuple[web.Response | None,
                                                                    dict[str, str]]:
        form = await form_fields(request)
        if not self.twilio_token or not self.public_url:
            return error(503, "Twilio is not configured (LOTSEN_TWILIO_AUTH_TOKEN and "
                              "LOTSEN_PUBLIC_URL)."), form
        expected = twilio_signature(self.twilio_token, self.public_url + request.path_qs, form)
        given = request.headers.get("X-Twilio-Signature", "")
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return error(403, "Invalid X-Twilio-Signature."), form
        return None, form

    async def twilio_inbound(self, request: web.Request) -> web.Response:
        refused, form = await self._twilio_refusal(request)
        if refused is not None:
            return refused
        if not form.get("From") or "Body" not in form or not form.get("MessageSid"):
            raise bad_request("Twilio webhook needs From, Body and MessageSid.")
        await self._inbound("twilio", form["From"], form["Body"], form["MessageSid"])
        return web.Response(text=TWIML_EMPTY, content_type="text/xml")

    async def twilio_status(self, request: web.Request) -> web.Response:
        refused, form = await self._twilio_refusal(request)
        if refused is not None:
            return refused
        await self._record_status(form.get("MessageSid", ""), form.get("MessageStatus", ""))
        return web.Response(text=TWIML_EMPTY, content_type="text/xml")

    # ------------------------------------------------------------------ shared
    async def _inbound(self, provider: str, number: str, text: str, message_id: str) -> None:
        async def process(delivery: Delivery) -> None:
            await self.redis.set(self.keys.provider(number), provider, ex=self.retention)
            await self.inbox.handle(self.message(number, text=text[:MAX_INBOUND]), delivery)

        await self.once(provider, message_id, process)

    async def _record_status(self, provider_id: str, status: str) -> None:
        if provider_id and status:
            key = self.keys.status(provider_id)
            await self.redis.hset(key, mapping={"status": status, "at": str(time.time())})
            await self.redis.expire(key, self.retention)


class SmsSender:
    """The worker's side: one outbox job = one SMS through the person's provider."""

    def __init__(self, http: aiohttp.ClientSession, redis: Redis, keys: SmsKeys,
                 limiter: SendLimiter, optouts: OptOuts, settings: Any) -> None:
        self.http = http
        self.redis = redis
        self.keys = keys
        self.limiter = limiter
        self.optouts = optouts
        self.settings = settings

    async def send(self, args: dict[str, Any]) -> None:
        number = str(args["to"])
        if not args.get("force") and await self.optouts.opted_out(f"{CHANNEL}:{number}"):
            return  # opted out: nothing is sent, not even broadcasts
        wait = await self.limiter.acquire(CHANNEL, self.settings.sms_rate_per_second)
        if wait:
            raise RetryLater(wait, reason="sms rate limit")
        body = render(Reply.from_json(args["reply"]))
        provider = await self.redis.get(self.keys.provider(number)) or self._default_provider()
        if provider == "twilio":
            provider_id = await self._twilio(number, body)
        else:
            provider_id = await self._elks(number, body)
        counted = segments(body)
        SMS_SEGMENTS.labels(encoding=counted.encoding).inc(counted.count)
        if provider_id:
            await self.redis.hset(self.keys.status(provider_id),
                                  mapping={"status": "sent", "segments": counted.count,
                                           "at": str(time.time())})
            await self.redis.expire(self.keys.status(provider_id), 30 * 24 * 3600)

    def _default_provider(self) -> str:
        return "twilio" if self.settings.twilio_account_sid and not \
            self.settings.elks_username else "46elks"

    async def _post(self, url: str, form: dict[str, str], auth: BasicAuth) -> dict[str, Any]:
        try:
            async with self.http.post(url, data=form, auth=auth,
                                      timeout=aiohttp.ClientTimeout(total=15)) as resp:
                if resp.status == 429 or resp.status >= 500:
                    retry_after = float(resp.headers.get("Retry-After", "0") or 0)
                    raise RetryLater(retry_after or 5, failed=True,
                                     reason=f"provider answered {resp.status}")
                if resp.status >= 400:
                    raise GiveUp(f"provider refused the SMS ({resp.status})")
                return await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RetryLater(5, failed=True, reason=type(exc).__name__) from exc

    async def _elks(self, number: str, body: str) -> str:
        s = self.settings
        form = {"from": s.elks_from, "to": number, "message": body}
        if s.public_url and s.elks_status_secret:
            form["whendelivered"] = status_callback_url(s.public_url, s.elks_status_secret)
        data = await self._post(f"{s.elks_api_url.rstrip('/')}/a1/sms", form,
                                BasicAuth(s.elks_username, s.elks_password))
        return str(data.get("id", ""))

    async def _twilio(self, number: str, body: str) -> str:
        s = self.settings
        form = {"To": number, "From": s.twilio_from, "Body": body}
        if s.public_url:
            form["StatusCallback"] = f"{s.public_url.rstrip('/')}/sms/twilio/status"
        url = f"{s.twilio_api_url.rstrip('/')}/2010-04-01/Accounts/{s.twilio_account_sid}/" \
              "Messages.json"
        data = await self._post(url, form, BasicAuth(s.twilio_account_sid, s.twilio_auth_token))
        return str(data.get("sid", ""))
