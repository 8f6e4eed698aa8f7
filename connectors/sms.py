"""SMS through 46elks and Twilio: inbound webhooks (authenticated), delivery reports, and the
sender the worker runs for the outbox. Replies are plain text with numbered menus, counted in
segments (connectors.sms_text); each person is answered through the provider they wrote through
(an imported number: the provider its list named, else LOTSEN_SMS_DEFAULT_PROVIDER). Campaigns
reach people through `SmsReach`; a campaign SMS's delivery report counts for its campaign."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
from collections.abc import Mapping
from typing import ClassVar
from urllib.parse import quote, urlsplit, urlunsplit

import aiohttp
from aiohttp import BasicAuth, web
from prometheus_client import Counter

from bot.config import Settings, networks
from bot.core.clock import Clock
from bot.core.jobs import GiveUp, Job, JobHandler, RetryLater, object_field, text_field
from bot.core.keys import Erasure, Keys, Owner, declare
from bot.core.messages import Capabilities, Reply
from bot.core.outreach.campaigns import CampaignStore
from bot.core.outreach.reach import Reach, Sent
from bot.core.outreach.subscriptions import SubscriptionStore
from bot.core.redis_types import StrRedis
from bot.http import ClientAddresses, bad_request, error, form_fields
from connectors.base import ChannelContext, StoreContext
from connectors.inbox import Delivery
from connectors.optout import OptOuts
from connectors.outbox import send_job
from connectors.push import PushChannel
from connectors.send_limits import Pacer, paced_rate
from connectors.sms_text import render, segments

log = logging.getLogger("lotsen.sms")
CHANNEL = "sms"
MAX_INBOUND = 2000
TWIML_EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
SMS_SEGMENTS = Counter("lotsen_sms_segments_total", "SMS segments sent", ["encoding"])
PROVIDER = declare("sms:provider:{number}", owner=Owner.CONVERSATION,
                   expiry="the retention period after the number last wrote, or the end of "
                          "its subscription (whichever is later)",
                   erasure=Erasure.BY_OWNER,
                   note="which provider a number wrote through (or an imported list named), "
                        "to answer and send campaigns the same way; the channel's eraser "
                        "deletes it")
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


# Delivery reports' final statuses (46elks: delivered/failed; Twilio: also undelivered).
FINAL = {"delivered": "delivered", "failed": "undelivered", "undelivered": "undelivered"}
PHONE_PUNCTUATION = str.maketrans("", "", " -().\u00a0")


def phone_number(raw: str) -> str:
    """An imported number in E.164 (+46701234567); 00 and a Swedish leading 0 are read too."""
    number = raw.translate(PHONE_PUNCTUATION)
    if number.startswith("00"):
        number = "+" + number[2:]
    elif number.startswith("0"):
        number = "+46" + number[1:]
    if not re.fullmatch(r"\+[1-9][0-9]{7,14}", number):
        raise ValueError(f"{raw!r} is not a phone number (E.164, e.g. +46701234567)")
    return number


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
        self.reports = CampaignReports(redis=self.redis, campaigns=CampaignStore(
            redis=self.redis, keys=context.keys, recipients_seconds=settings.retention_seconds))
        self.subscriptions = SubscriptionStore(redis=self.redis, keys=context.keys)

    @classmethod
    async def erase(cls, stores: StoreContext, number: str) -> None:
        await stores.redis.delete(SmsKeys(stores.keys).provider(number))

    async def remember_provider(self, number: str, provider: str, seconds: int) -> None:
        """Answer `number` through `provider` for at least `seconds` (a longer time already
        set, e.g. by an imported subscription, is kept)."""
        key = self.keys.provider(number)
        left = await self.redis.ttl(key)
        await self.redis.set(key, provider, ex=max(seconds, left, 1))

    def sender(self) -> SmsSender:
        return SmsSender(self.context.http, self.redis, self.keys, self.pacer, self.optouts,
                         self.context.settings, self.reports, self.context.clock)

    def jobs(self) -> dict[str, JobHandler]:
        return {send_job(CHANNEL): self.sender().send}

    def reach(self) -> SmsReach:
        return SmsReach(self)

    def routes(self) -> list[web.AbstractRouteDef]:
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
            await self.remember_provider(number, provider, self.retention)
            await self.inbox.handle(self.message(number, text=text[:MAX_INBOUND]), delivery)
            # A subscriber is reached through this provider as long as they subscribe; after
            # STOP or unsubscribing, only for the retention period (erased: not at all).
            now = self.context.jobs.clock().timestamp()
            subscription = await self.subscriptions.get(f"{CHANNEL}:{number}", now)
            keep = int(subscription.expires_at - now) if subscription is not None else 0
            await self.redis.set(self.keys.provider(number), provider,
                                 ex=max(self.retention, keep), xx=True)

        await self.once(provider, message_id, process)

    async def _record_status(self, provider_id: str, status: str) -> None:
        if provider_id and status:
            key = self.keys.status(provider_id)
            await self.redis.hset(key, mapping={"status": status,
                                                "at": str(self.context.clock().timestamp())})
            await self.redis.expire(key, self.retention)
            await self.reports.count_final(key)


class CampaignReports:
    """A campaign SMS's delivery report, counted once for its campaign (the status record
    names the campaign; whichever of the report and the sender's record comes second
    counts it)."""

    def __init__(self, *, redis: StrRedis, campaigns: CampaignStore) -> None:
        self.redis = redis
        self.campaigns = campaigns

    async def count_final(self, key: str) -> None:
        status, campaign = await self.redis.hmget(key, ["status", "campaign"])
        outcome = FINAL.get(status or "")
        if campaign and outcome and await self.redis.hsetnx(key, "counted", outcome):
            await self.campaigns.count(campaign, outcome, CHANNEL)


class SmsReach(Reach):
    """Campaigns by SMS: paid (counted in segments), never during quiet hours, through the
    provider the number wrote through, an imported list named, or the default one.
    Delivered counts come from the providers' delivery reports."""

    channel = CHANNEL
    import_names: ClassVar[Mapping[str, str]] = {CHANNEL: "", "46elks": "46elks",
                                                 "twilio": "twilio"}
    quiet_hours = True

    def __init__(self, sms: SmsChannel) -> None:
        self.sms = sms
        self._sender: SmsSender | None = None
        self.per_second = paced_rate(float(sms.context.settings.sms_rate_per_second))

    @property
    def available(self) -> bool:
        settings = self.sms.context.settings
        return bool(settings.elks_username or settings.twilio_account_sid)

    def address(self, raw: str) -> str:
        return phone_number(raw)

    def segments(self, text: str) -> int:
        return segments(render(Reply(text))).count

    async def opted_out(self, user_id: str) -> bool:
        return await self.sms.optouts.opted_out(f"{CHANNEL}:{user_id}")

    async def remember(self, user_id: str, via: str, seconds: int) -> None:
        await self.sms.remember_provider(user_id, via, seconds)

    def _the_sender(self) -> SmsSender:
        if self._sender is None:
            self._sender = self.sms.sender()
        return self._sender

    async def wait_turn(self, user_id: str) -> None:
        await self._the_sender().wait_turn()

    async def send(self, user_id: str, text: str, campaign: str) -> Sent:
        return Sent(await self._the_sender().post(user_id, render(Reply(text)), campaign))


class SmsSender:
    """The worker's side: one outbox job = one SMS through the person's provider."""

    def __init__(self, http: aiohttp.ClientSession, redis: StrRedis, keys: SmsKeys,
                 pacer: Pacer, optouts: OptOuts, settings: Settings,
                 reports: CampaignReports, clock: Clock) -> None:
        self.clock = clock
        self.http = http
        self.redis = redis
        self.keys = keys
        self.pacer = pacer
        self.optouts = optouts
        self.settings = settings
        self.reports = reports

    async def send(self, job: Job) -> None:
        """The outbox job: {"to", "reply", "force"}."""
        number = text_field(job.payload, "to")
        if not job.payload.get("force") and await self.optouts.opted_out(f"{CHANNEL}:{number}"):
            return  # opted out: nothing is sent, not even broadcasts
        await self.deliver(number, render(Reply.from_json(object_field(job.payload, "reply"))))

    async def deliver(self, number: str, body: str) -> str:
        """Send one SMS within the rate limit; returns the provider's message id."""
        await self.wait_turn()
        return await self.post(number, body)

    async def wait_turn(self) -> None:
        """Wait for a slot within LOTSEN_SMS_RATE_PER_SECOND (over every worker)."""
        await self.pacer.wait_turn([(CHANNEL, self.settings.sms_rate_per_second)])

    async def post(self, number: str, body: str, campaign: str = "") -> str:
        """Send one SMS now (the caller waited its turn); returns the provider's message id.
        A campaign message's status record names its campaign, for the delivery report."""
        provider = await self.redis.get(self.keys.provider(number)) or self.default_provider()
        if provider == "twilio":
            provider_id = await self._twilio(number, body)
        else:
            provider_id = await self._elks(number, body)
        counted = segments(body)
        SMS_SEGMENTS.labels(encoding=counted.encoding).inc(counted.count)
        if provider_id:
            key = self.keys.status(provider_id)
            await self.redis.hsetnx(key, "status", "sent")  # a report may have come first
            await self.redis.hset(key, mapping={"segments": counted.count,
                                                "at": str(self.clock().timestamp()),
                                                **({"campaign": campaign} if campaign else {})})
            await self.redis.expire(key, 30 * 24 * 3600)
            if campaign:
                await self.reports.count_final(key)
        return provider_id

    def default_provider(self) -> str:
        """For a number that never wrote in: LOTSEN_SMS_DEFAULT_PROVIDER, else the one
        provider configured (46elks when both are)."""
        if self.settings.sms_default_provider:
            return str(self.settings.sms_default_provider)
        return "twilio" if self.settings.twilio_account_sid and not \
            self.settings.elks_username else "46elks"

    async def _post(self, url: str, form: dict[str, str], auth: BasicAuth) -> dict[str, object]:
        """The provider's JSON answer ({} when it is not an object: no message id)."""
        try:
            async with self.http.post(url, data=form, auth=auth,
                                      timeout=aiohttp.ClientTimeout(total=15)) as resp:
                if resp.status == 429 or resp.status >= 500:
                    retry_after = float(resp.headers.get("Retry-After", "0") or 0)
                    raise RetryLater(retry_after or 5, failed=True,
                                     reason=f"provider answered {resp.status}")
                if resp.status >= 400:
                    raise GiveUp(f"provider refused the SMS ({resp.status})")
                answer: object = await resp.json(content_type=None)
                return answer if isinstance(answer, dict) else {}
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
