"""Settings from `LOTSEN_*` environment variables.

One frozen object is built at start-up and passed around, so a process never reads the
environment twice and tests can build their own settings without touching `os.environ`.
Each field carries its own description and rules (`setting(...)`): validation is one loop over
the fields, and docs/configuration.md and .env.example are generated from the same metadata
(`make config-docs`, bot/config_docs.py), so the documentation cannot drift from the code.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import Field, dataclass, field, fields
from enum import StrEnum
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "LOTSEN_"
SPEC = "lotsen"  # the key of a field's `Spec` in its dataclass metadata
HIDDEN = "***"

T = TypeVar("T")


class ConfigError(ValueError):
    """A setting has a value the service cannot run with."""


class Group(StrEnum):
    """Sections of docs/configuration.md and .env.example, in this order."""

    GATEWAY = "Gateway"
    REDIS = "Redis"
    NLU = "Rasa NLU"
    LIMITS = "Limits"
    PRIVACY = "Retention and privacy"
    STAFF = "Coach dashboard and e-mail"
    TELEGRAM = "Telegram"
    WHATSAPP = "WhatsApp (Cloud API)"
    SMS = "SMS (46elks and Twilio)"
    WORKER = "Worker and campaigns"
    FILES = "Files"


@dataclass(frozen=True)
class Spec:
    """What a setting does and which values it takes. `secret`: the whole value is hidden in
    `repr`; `url_password`: only the password in the URL's userinfo is. `required_with`: the
    setting must be set when every one of these other settings is. `check` returns what is
    wrong with a text value (a phrase starting with "must"), or None; `form` says in the docs
    what such a value looks like."""

    doc: str
    group: Group
    secret: bool = False
    url_password: bool = False
    minimum: float | None = None
    maximum: float | None = None
    above: float | None = None
    choices: tuple[str, ...] = ()
    ignore_case: bool = False
    required_with: tuple[str, ...] = ()
    check: Callable[[str], str | None] | None = None
    form: str = ""

    def bounds(self) -> str:
        """The allowed range as text ("1-65535", ">= 1", "> 0 and <= 1"), or ""."""
        low = _number(self.minimum) if self.minimum is not None else None
        high = _number(self.maximum) if self.maximum is not None else None
        if low is not None and high is not None:
            return f"{low}-{high}"
        parts = [f">= {low}" if low is not None else "",
                 f"> {_number(self.above)}" if self.above is not None else "",
                 f"<= {high}" if high is not None else ""]
        return " and ".join(part for part in parts if part)

    def choices_text(self) -> str:
        """`("", "46elks", "twilio")` as "46elks, twilio or empty"."""
        names = [c for c in self.choices if c] + (["empty"] if "" in self.choices else [])
        return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"

    def in_range(self, value: float) -> bool:
        return ((self.minimum is None or value >= self.minimum)
                and (self.maximum is None or value <= self.maximum)
                and (self.above is None or value > self.above))

    def allows(self, value: str) -> bool:
        if self.ignore_case:
            return value.upper() in {c.upper() for c in self.choices}
        return value in self.choices

    def shown(self, value: object) -> object:
        """The value as `repr` and error messages may show it: secrets hidden."""
        if self.secret:
            return HIDDEN if value else value
        if self.url_password and isinstance(value, str):
            return hide_url_password(value)
        return value


def setting(default: T, doc: str, *, group: Group, secret: bool = False,
            url_password: bool = False, minimum: float | None = None,
            maximum: float | None = None, above: float | None = None,
            choices: tuple[str, ...] = (), ignore_case: bool = False,
            required_with: tuple[str, ...] = (), check: Callable[[str], str | None] | None = None,
            form: str = "") -> T:
    """A `Settings` field with its description and rules (see `Spec`)."""
    spec = Spec(doc=doc, group=group, secret=secret, url_password=url_password,
                minimum=minimum, maximum=maximum, above=above, choices=choices,
                ignore_case=ignore_case, required_with=required_with, check=check, form=form)
    return field(default=default, metadata={SPEC: spec})


def env_name(name: str) -> str:
    """`port` -> `LOTSEN_PORT`."""
    return f"{PREFIX}{name.upper()}"


def spec_of(f: Field[Any]) -> Spec | None:
    spec = f.metadata.get(SPEC)
    return spec if isinstance(spec, Spec) else None


def hide_url_password(url: str) -> str:
    """`smtp://user:pw@host:587` -> `smtp://user:***@host:587`; the URL as it is without one."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return HIDDEN
    if not password:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:{HIDDEN}@{host}"))


# Checks of values with a form of their own: each returns the problem or None.

def _key_prefix(value: str) -> str | None:
    return None if value and ":" not in value else "must be non-empty and contain no ':'"


def _rasa_urls(value: str) -> str | None:
    urls = rasa_urls(value)
    if not urls:
        return "must name at least one Rasa server"
    for url in urls:
        try:
            parts = urlsplit(url)
            host = parts.hostname
        except ValueError:
            host = None
        if parts.scheme not in ("http", "https") or not host:
            return f"must list http(s) URLs, got {url!r}"
    return None


def _parses(parse: Callable[[str], object], what: str) -> Callable[[str], str | None]:
    """A check that `parse` accepts the value; its complaint names `what` the value must be."""
    def check(value: str) -> str | None:
        try:
            parse(value)
        except ValueError as exc:
            return f"must list {what}: {exc}"
        return None
    return check


_sentinels = _parses(lambda value: sentinels(value), "host:port pairs")
_networks = _parses(lambda value: networks(value), "addresses or networks")


def _smtp_url(value: str) -> str | None:
    """Never names the value: it may hold a password."""
    if not value:
        return None
    parts = urlsplit(value)
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:  # not a number, or over 65535
        port_ok = False
    if parts.scheme in ("smtp", "smtps") and parts.hostname and port_ok:
        return None
    return ("must look like smtp://host:25, smtp://user:password@host:587?starttls=true or "
            "smtps://user:password@host:465")


NETWORKS = "addresses or networks, comma-separated"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True, repr=False)
class Settings:
    # Gateway
    host: str = setting(
        "127.0.0.1", "The address the gateway listens on; docker compose sets 0.0.0.0 inside "
        "its containers.", group=Group.GATEWAY)
    port: int = setting(
        8080, "The gateway's HTTP port. Under docker compose the gateways listen on 8080 and "
        "this is the port the load balancer publishes.", group=Group.GATEWAY, minimum=1,
        maximum=65535)
    public_url: str = setting(
        "", "The gateway's public base URL as providers and coaches reach it (e.g. "
        "`https://lotsen.example.se`). Twilio signs the exact URL, Telegram calls the webhook "
        "`<public url>/telegram/webhook` (without a public URL the gateway polls, which only one "
        "process may do), SMS delivery reports are asked for only with it, and coach e-mails "
        "link to `<public url>/coach/`. When it is https, cookies are `Secure` and responses "
        "carry HSTS. Empty for local use.", group=Group.GATEWAY, form="URL")
    admin_token: str = setting(
        "", "Bearer token (`Authorization: Bearer <token>`) of the operator APIs: "
        "`POST /api/nlu/parse` (used by `make eval`), the staff booking list "
        "`/staff/api/bookings` and the campaigns API `/api/campaigns`. Empty: those APIs "
        "answer 503.", group=Group.GATEWAY, secret=True)
    embed_origins: str = setting(
        "", "Origins of the city pages that may embed the chat with `/widget.js` "
        "(space-separated, e.g. `https://start.stockholm`). Empty: only this site. The coach "
        "panel can never be framed.", group=Group.GATEWAY, form="origins, space-separated")
    default_language: str = setting(
        "sv", "Not read by the services: the reply language when nothing else tells is "
        "`default` in bot/content/languages.yml (sv). Accepted so that existing environments "
        "still load.", group=Group.GATEWAY)
    log_level: str = setting(
        "INFO", "The lowest level logged (JSON lines on standard error). No token, phone "
        "number, chat id or message text is logged at any level.", group=Group.GATEWAY,
        choices=LOG_LEVELS, ignore_case=True)

    # Redis
    redis_url: str = setting(
        "redis://127.0.0.1:6379/0", "Redis, the only datastore: "
        "`redis://[:password@]host:port/db` (`rediss://` for TLS). With "
        "`LOTSEN_REDIS_SENTINELS` only its password and database number are used.",
        group=Group.REDIS, url_password=True, form="URL")
    key_prefix: str = setting(
        "lotsen", "Prefix of every Redis key, so that several installations can share one "
        "Redis (the tests use their own prefix and clean up after themselves).",
        group=Group.REDIS, check=_key_prefix, form="text without ':'")
    redis_sentinels: str = setting(
        "", "Redis Sentinel, for high availability: the sentinels as `host:port`, "
        "comma-separated. Every process then asks them for the master named "
        "`LOTSEN_REDIS_SERVICE`, follows a failover by itself and retries commands meanwhile "
        "(about 14.5 s). Empty: `LOTSEN_REDIS_URL` is the server.", group=Group.REDIS,
        check=_sentinels,
        form="host:port, comma-separated")
    redis_service: str = setting(
        "lotsen", "The master's name in Sentinel (`sentinel monitor <name>`).",
        group=Group.REDIS, required_with=("redis_sentinels",))
    redis_max_connections: int = setting(
        16, "Redis connections per process. A burst waits for a free one (up to "
        "`LOTSEN_REDIS_POOL_TIMEOUT_SECONDS`) instead of failing; 16 was measured faster under "
        "bursts on 2 cores than 64, which opens many connections at once.", group=Group.REDIS,
        minimum=2)
    redis_pool_timeout_seconds: float = setting(
        5.0, "How long a Redis command waits for a free connection before it fails.",
        group=Group.REDIS, above=0)
    redis_memory_warn_ratio: float = setting(
        0.8, "`/readyz` warns when Redis uses more than this share of its `maxmemory` "
        "(`/metrics` has the share as `lotsen_redis_memory_ratio`).", group=Group.REDIS, above=0,
        maximum=1)

    # Rasa NLU
    rasa_url: str = setting(
        "http://127.0.0.1:5005", "Rasa NLU servers (`rasa run --enable-api`): one URL or a "
        "comma-separated list of replicas, all serving the same model with the same token; "
        "each parse goes to the healthy replica with the fewest parses in flight. When it is "
        "unset, `make run` starts `LOTSEN_NLU_REPLICAS` Rasa servers of its own on "
        "`LOTSEN_NLU_PORT` and the ports after it, with a fresh token.", group=Group.NLU,
        check=_rasa_urls, form="http(s) URLs, comma-separated")
    rasa_token: str = setting(
        "", "Rasa's auth token (`rasa run --auth-token`), sent with every parse. docker "
        "compose requires it; `make run` makes one up when it starts Rasa itself.",
        group=Group.NLU, secret=True)
    rasa_resolve: bool = setting(
        False, "true: one replica per address each Rasa host name resolves to, looked up "
        "again every 30 s (docker compose with `deploy.replicas` or `--scale rasa=N`).",
        group=Group.NLU)
    nlu_port: int = setting(
        5005, "Read by `make run` only: the port of the first Rasa server it starts when "
        "`LOTSEN_RASA_URL` is unset (more replicas take the ports after it).", group=Group.NLU,
        minimum=1, maximum=65535)
    nlu_replicas: int = setting(
        1, "Read by `make run` only: how many Rasa servers it starts when `LOTSEN_RASA_URL` is "
        "unset.", group=Group.NLU, minimum=1)
    nlu_concurrency: int = setting(
        4, "Parses one gateway sends to each Rasa replica at once (Rasa parses one message at "
        "a time); the others wait in one first-come-first-served queue.", group=Group.NLU,
        minimum=1)
    nlu_budget_ms: int = setting(
        800, "A message waits at most this many milliseconds for a free Rasa slot, else it "
        "gets the \"many people are writing\" reply with the topic menu (counted as "
        "`nlu_busy`, not as Rasa being down).", group=Group.NLU, minimum=1)
    nlu_timeout_seconds: float = setting(
        3.0, "A parse that takes longer counts as a failure of that replica: it is taken out "
        "until its health check passes, and the next replica is tried.", group=Group.NLU,
        above=0)
    max_in_flight: int = setting(
        50, "Beyond this many messages at once in one gateway process (more than its CPU "
        "keeps up with), free text gets the same \"many people are writing\" reply at once, "
        "before anything is read or stored; buttons and menu numbers are always handled. "
        "0: no limit.", group=Group.NLU, minimum=0)
    nlu_cache: bool = setting(
        True, "The parse cache (bot/core/nlu/cache.py): the same short text without personal "
        "data, under the same model, is parsed once a day.", group=Group.NLU)
    nlu_threshold: float = setting(
        0.4, "Below this NLU confidence the bot asks back with a menu of topics.",
        group=Group.NLU, minimum=0.0, maximum=1.0)
    answer_threshold: float = setting(
        0.4, "A specific answer (e.g. \"can I bring my child?\") is given when it holds at "
        "least this share of its topic's confidence; below it the bot gives the topic's "
        "general answer. `make eval` shows what each value gives: higher means fewer wrong "
        "specific answers and more general ones.", group=Group.NLU, minimum=0.0, maximum=1.0)
    disambiguation_margin: float = setting(
        0.15, "When the two best topics (or the two best specific answers within a topic) are "
        "closer than this, the bot asks which one was meant, with two buttons and \"something "
        "else\", instead of guessing. 0 never asks. `make eval` prints what each margin gives "
        "on the development sets.", group=Group.NLU, minimum=0.0, maximum=1.0)

    # Limits
    max_message_chars: int = setting(
        1000, "Longer messages get a polite \"too long\" reply and are not stored.",
        group=Group.LIMITS, minimum=1)
    rate_limit_per_minute: int = setting(
        30, "Messages per conversation per minute (every channel) before the bot asks the "
        "person to slow down.", group=Group.LIMITS, minimum=0)
    limit_sessions_per_minute: int = setting(
        20, "Web chat sessions each client address may start per minute (429 beyond it).",
        group=Group.LIMITS, minimum=0)
    limit_messages_per_minute: int = setting(
        60, "Web chat messages per client address per minute (429 beyond it).",
        group=Group.LIMITS, minimum=0)
    limit_bookings_per_day: int = setting(
        3, "Drop-in bookings per conversation per day.", group=Group.LIMITS, minimum=0)
    limit_bookings_per_address_per_day: int = setting(
        10, "Drop-in bookings per client address per day, so that no script can take every "
        "seat.", group=Group.LIMITS, minimum=0)
    limit_leads_per_address_per_day: int = setting(
        5, "Requests for a coach (leads) per client address per day.", group=Group.LIMITS,
        minimum=0)
    idle_session_minutes: int = setting(
        60, "A web chat session that never sent a message expires after this many minutes.",
        group=Group.LIMITS, minimum=1)
    trusted_proxies: str = setting(
        "", "The load balancers in front of the gateways. The client address (for the "
        "per-address limits and the 46elks address check) is the TCP peer; "
        "`X-Forwarded-For` is used only when the peer is one of these.", group=Group.LIMITS,
        check=_networks, form=NETWORKS)
    limit_exempt: str = setting(
        "", "Clients the per-address limits do not apply to (monitoring, load tests); the "
        "per-conversation limits still do.", group=Group.LIMITS, check=_networks, form=NETWORKS)

    # Retention and privacy
    retention_days: int = setting(
        30, "Conversation state, transcripts and web chat logs expire this many days after "
        "their last message; bookings, leads and campaign records use the same period.",
        group=Group.PRIVACY, minimum=1)
    dead_letter_days: int = setting(
        7, "Outbox jobs that failed five times (dead letters) are kept this many days, then "
        "expire (`python -m bot.admin dead-letters` lists, retries or drops them).",
        group=Group.PRIVACY, minimum=1)
    audit_days: int = setting(
        365, "Days the staff audit log (who opened or acted on which lead, who read the "
        "booking list) is kept.", group=Group.PRIVACY, minimum=1)
    hash_secret: str = setting(
        "", "Key of the keyed hashes that stand in for phone numbers and chat ids where one "
        "must be kept (the STOP list), and of the parse cache. Empty: one is generated once "
        "and kept in Redis; set it to keep the key outside Redis.", group=Group.PRIVACY,
        secret=True)

    # Coach dashboard and e-mail
    coach_session_hours: int = setting(
        8, "Coach dashboard logins expire after this many hours.", group=Group.STAFF, minimum=1)
    cookie_secure: bool = setting(
        False, "true: the coach login cookie is always `Secure`. It is anyway whenever "
        "`LOTSEN_PUBLIC_URL` is https.", group=Group.STAFF)
    smtp_url: str = setting(
        "", "E-mail to coaches who have an address (`add-coach --email`): \"a new lead is "
        "waiting for your team\" and a daily digest of leads over the SLA, without any personal "
        "data. `smtp://host:25`, `smtp://user:password@host:587?starttls=true` or "
        "`smtps://user:password@host:465`. Empty: no e-mail.", group=Group.STAFF,
        url_password=True, check=_smtp_url, form="smtp:// or smtps:// URL")
    mail_from: str = setting(
        "lotsen@localhost", "The sender address of those e-mails.", group=Group.STAFF,
        form="e-mail address")
    digest_hour: int = setting(
        7, "The Stockholm hour at which the daily SLA digest is sent.", group=Group.STAFF,
        minimum=0, maximum=23)

    # Telegram
    telegram_token: str = setting(
        "", "The bot token from @BotFather. Empty: no Telegram. With `LOTSEN_PUBLIC_URL` "
        "Telegram calls the webhook; without it the gateway polls.", group=Group.TELEGRAM,
        secret=True)
    telegram_webhook_secret: str = setting(
        "", "Set it as the webhook's `secret_token`: Telegram sends it in "
        "`X-Telegram-Bot-Api-Secret-Token` with every call, and a call without it gets 403. "
        "Required when Telegram uses the webhook (a token and `LOTSEN_PUBLIC_URL`).",
        group=Group.TELEGRAM, secret=True, required_with=("telegram_token", "public_url"))
    telegram_api_url: str = setting(
        "https://api.telegram.org", "Base URL of the Bot API, configurable so that the tests "
        "use a local fake Telegram.", group=Group.TELEGRAM, form="URL")
    telegram_rate_per_second: float = setting(
        30.0, "Telegram messages per second over every worker: Telegram's limit (30), never "
        "exceeded in any one-second window; sends are spaced (1 + 0.1 s) / rate apart "
        "(27.3/s).", group=Group.TELEGRAM, above=0)
    telegram_chat_rate_per_second: float = setting(
        1.0, "Telegram messages per second to one chat: Telegram's limit (1); a chat's "
        "messages are 1.1 s apart.", group=Group.TELEGRAM, above=0)

    # WhatsApp
    whatsapp_token: str = setting(
        "", "The Cloud API access token (a system user's permanent token from Meta's Business "
        "settings). Empty: no WhatsApp (`/whatsapp/webhook` answers 503).",
        group=Group.WHATSAPP, secret=True)
    whatsapp_phone_number_id: str = setting(
        "", "The WhatsApp business phone number's id (the app dashboard's API setup page, not "
        "the number itself): messages are sent from it, and webhooks for other numbers of the "
        "account are ignored.", group=Group.WHATSAPP, required_with=("whatsapp_token",))
    whatsapp_app_secret: str = setting(
        "", "The Meta app's secret: every webhook call must carry `X-Hub-Signature-256`, its "
        "HMAC-SHA256 of the body; a call without a valid one gets 401 and nothing is stored.",
        group=Group.WHATSAPP, secret=True, required_with=("whatsapp_token",))
    whatsapp_verify_token: str = setting(
        "", "The verify token entered with the callback URL `<public url>/whatsapp/webhook` in "
        "the app dashboard: Meta's verification request must repeat it.",
        group=Group.WHATSAPP, secret=True, required_with=("whatsapp_token",))
    whatsapp_api_url: str = setting(
        "https://graph.facebook.com/v26.0", "Base URL of the Graph API with its version, "
        "configurable so that the tests use a local fake.", group=Group.WHATSAPP, form="URL")
    whatsapp_rate_per_second: float = setting(
        80.0, "WhatsApp messages per second over every worker: the Cloud API's default "
        "throughput (80), never exceeded in any one-second window; sends are spaced "
        "(1 + 0.1 s) / rate apart.", group=Group.WHATSAPP, above=0)
    whatsapp_templates: Path = setting(  # noqa: RUF009
        ROOT / "config" / "whatsapp.yml", "The approved message templates per kind of message "
        "and language, used outside the 24-hour window (checked at start-up when WhatsApp is "
        "configured).", group=Group.WHATSAPP, form="file")

    # SMS
    elks_username: str = setting(
        "", "46elks API username: with it and the password, SMS can be sent through 46elks.",
        group=Group.SMS)
    elks_password: str = setting(
        "", "46elks API password.", group=Group.SMS, secret=True,
        required_with=("elks_username",))
    elks_webhook_secret: str = setting(
        "", "Inbound SMS from 46elks: give 46elks the URL "
        "`https://lotsen:<secret>@<host>/sms/46elks` (HTTP basic auth, so that the secret is "
        "never in a request line or a log). Empty: `/sms/46elks` answers 503.", group=Group.SMS,
        secret=True)
    elks_status_secret: str = setting(
        "", "The same for 46elks' delivery reports (`/sms/46elks/status`); SMS ask for reports "
        "only when it and `LOTSEN_PUBLIC_URL` are set.", group=Group.SMS, secret=True)
    elks_source_addresses: str = setting(
        "", "Optional: 46elks' sending addresses; other clients get 403 on the 46elks "
        "webhooks. Empty: any address (the secret still applies).", group=Group.SMS,
        check=_networks, form=NETWORKS)
    elks_from: str = setting(
        "Lotsen", "The sender shown on SMS sent through 46elks (a name or a number).",
        group=Group.SMS)
    elks_api_url: str = setting(
        "https://api.46elks.com", "Base URL of the 46elks API, configurable so that the tests "
        "use a local fake.", group=Group.SMS, form="URL")
    twilio_account_sid: str = setting(
        "", "Twilio account SID: with it, the auth token and a sender number, SMS can be sent "
        "through Twilio.", group=Group.SMS)
    twilio_auth_token: str = setting(
        "", "Twilio auth token: authenticates sending and validates `X-Twilio-Signature` on "
        "Twilio's webhooks (`/sms/twilio`, which also need `LOTSEN_PUBLIC_URL`: Twilio signs "
        "the exact URL).", group=Group.SMS, secret=True, required_with=("twilio_account_sid",))
    twilio_from: str = setting(
        "", "The Twilio number SMS are sent from (e.g. `+46700000000`).", group=Group.SMS,
        required_with=("twilio_account_sid",))
    twilio_api_url: str = setting(
        "https://api.twilio.com", "Base URL of the Twilio API, configurable so that the tests "
        "use a local fake.", group=Group.SMS, form="URL")
    sms_rate_per_second: float = setting(
        5.0, "Outbound SMS per second over every worker: the provider's limit, never exceeded "
        "in any one-second window (paced at rate / 1.1).", group=Group.SMS, above=0)
    sms_default_provider: str = setting(
        "", "The provider for a number that never wrote in (e.g. an imported subscriber whose "
        "list says only \"sms\"). Empty: the one configured, 46elks when both are. Everyone "
        "else is answered through the provider they wrote through.", group=Group.SMS,
        choices=("", "46elks", "twilio"))

    # Worker and campaigns
    worker_concurrency: int = setting(
        32, "Jobs one worker runs at once. Sends wait mostly for the provider, so one at a "
        "time would cap a worker at 1 / latency messages a second.", group=Group.WORKER,
        minimum=1)
    job_lease_seconds: float = setting(
        30.0, "A running job's lease, renewed while it runs: a dead worker's jobs run again "
        "this many seconds after it died.", group=Group.WORKER, minimum=3)
    campaign_max_per_day: int = setting(
        1, "Outreach campaigns: at most this many campaign messages per person per Stockholm "
        "day; a later campaign that day skips the person.", group=Group.WORKER, minimum=1)

    content_lix_threshold: float = setting(
        40.0, "The content editor warns when a Swedish text of 25 words or more has a "
        "readability index (LIX) above this; `python -m bot.admin content status` counts them.",
        group=Group.FILES, minimum=10.0, maximum=100.0)
    content_poll_seconds: float = setting(
        2.0, "Besides the pub/sub announcement, every process checks the content version this "
        "often, so a published text is live everywhere within this time.",
        group=Group.FILES, minimum=0.1, maximum=60.0)
    # Files (`setting` wraps `field()`, which ruff does not know: hence the noqa)
    content_dir: Path = setting(  # noqa: RUF009
        ROOT / "bot" / "content", "The bot's texts: replies.yml, answers.yml, languages.yml, "
        "dates.yml, canned.yml.", group=Group.FILES)
    config_dir: Path = setting(  # noqa: RUF009
        ROOT / "config", "The city's own data: locations.yml, dropin.yml, teams.yml, "
        "canned.yml, accessibility.yml, referrals.yml.", group=Group.FILES)
    locales_dir: Path = setting(  # noqa: RUF009
        ROOT / "locales", "The translations (`<lang>/LC_MESSAGES/lotsen.mo`, built by "
        "`make install`).", group=Group.FILES)

    @property
    def retention_seconds(self) -> int:
        return self.retention_days * 24 * 3600

    @property
    def secure_cookies(self) -> bool:
        """Cookies are `Secure` when asked for, and always when the public URL is https."""
        return self.cookie_secure or self.public_url.lower().startswith("https://")

    def __repr__(self) -> str:
        """Every field, secrets as '***' (and passwords in URLs), so a logged or printed
        `Settings` never leaks a token."""
        shown = []
        for f in fields(self):
            spec = spec_of(f)
            value = getattr(self, f.name)
            shown.append(f"{f.name}={(spec.shown(value) if spec else value)!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Read every field from `LOTSEN_<FIELD>`; unknown or unset variables keep defaults."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        errors = []
        for f in fields(cls):
            raw = env.get(env_name(f.name))
            if raw is None or raw == "":
                continue
            try:
                values[f.name] = _convert(f.name, raw, f.type)
            except ConfigError as exc:
                errors.append(str(exc))
        if errors:
            raise ConfigError("; ".join(errors))
        values.update(overrides)
        # Each value has its field's type: `_convert` made it from the field's annotation (or
        # the caller passed it); mypy cannot follow that per-field check.
        settings = cls(**cast("dict[str, Any]", values))
        settings.validate()
        return settings

    def problems(self) -> list[str]:
        """What is wrong, one sentence per setting naming its variable; never a secret."""
        found = []
        for f in fields(self):
            spec = spec_of(f)
            if spec is not None:
                problem = _problem(self, f.name, getattr(self, f.name), spec)
                if problem:
                    found.append(problem)
        return found

    def validate(self) -> None:
        """Raise one `ConfigError` naming every setting that is wrong."""
        found = self.problems()
        if found:
            raise ConfigError("; ".join(found))


def _problem(settings: Settings, name: str, value: object, spec: Spec) -> str | None:
    var = env_name(name)
    if spec.required_with and not value and all(getattr(settings, other)
                                                 for other in spec.required_with):
        others = [env_name(other) for other in spec.required_with]
        listed = " and ".join(others)
        return f"{var} must be set when {listed} {'is' if len(others) == 1 else 'are'} set"
    if isinstance(value, int | float) and not isinstance(value, bool) \
            and not spec.in_range(value):
        return f"{var} must be {spec.bounds()}, got {spec.shown(value)}"
    if spec.choices and isinstance(value, str) and not spec.allows(value):
        return f"{var} must be {spec.choices_text()}, got {spec.shown(value)!r}"
    if spec.check is not None and isinstance(value, str):
        problem = spec.check(value)
        if problem:
            return f"{var} {problem}"
    return None


def rasa_urls(spec: str) -> list[str]:
    """`LOTSEN_RASA_URL`: one address or a comma-separated list, each once, no trailing '/'."""
    urls = [part.strip().rstrip("/") for part in spec.split(",") if part.strip()]
    return list(dict.fromkeys(urls))


def sentinels(spec: str) -> list[tuple[str, int]]:
    """`LOTSEN_REDIS_SENTINELS` ("10.0.0.5:26379, sentinel-2:26379") as (host, port) pairs."""
    pairs = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        host, _, port = part.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{part!r} is not host:port")
        pairs.append((host.strip("[]"), int(port)))
    return pairs


def networks(spec: str) -> tuple[IPv4Network | IPv6Network, ...]:
    """A comma-separated list of addresses or networks ("10.0.0.0/8, ::1") as networks."""
    return tuple(ip_network(part.strip(), strict=False) for part in spec.split(",")
                 if part.strip())


def _number(value: float) -> str:
    return f"{value:g}"


def _convert(name: str, raw: str, kind: object) -> object:
    kind_name = kind if isinstance(kind, str) else getattr(kind, "__name__", str(kind))
    try:
        if kind_name == "int":
            return int(raw)
        if kind_name == "float":
            return float(raw)
        if kind_name == "Path":
            return Path(raw)
        if kind_name == "bool":
            if raw.lower() not in ("1", "true", "yes", "0", "false", "no"):
                raise ValueError(raw)
            return raw.lower() in ("1", "true", "yes")
    except ValueError as exc:
        raise ConfigError(f"{env_name(name)}={raw!r} is not a valid {kind_name}") from exc
    return raw
