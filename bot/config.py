"""Settings from `LOTSEN_*` environment variables (documented in `.env.example`).

One frozen object is built at start-up and passed around, so a process never reads the
environment twice and tests can build their own settings without touching `os.environ`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """A setting has a value the service cannot run with."""


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_sentinels: str = ""     # host:port,host:port: find the master through Sentinel
    redis_service: str = "lotsen"  # the master's name in Sentinel (`sentinel monitor <name>`)
    key_prefix: str = "lotsen"
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: str = ""
    admin_token: str = ""
    default_language: str = "sv"
    nlu_threshold: float = 0.4
    answer_threshold: float = 0.4  # a specific answer below this gives the topic's answer
    nlu_timeout_seconds: float = 3.0
    nlu_budget_ms: int = 800      # a message waits at most this long for a free Rasa slot
    nlu_concurrency: int = 4      # parses in flight per Rasa replica (Rasa parses one at a time)
    nlu_cache: bool = True        # the parse cache (bot/core/nlu/cache.py)
    nlu_replicas: int = 1         # Rasa processes `make run` starts (scripts/run.py)
    max_in_flight: int = 50       # free-text messages at once per process before shedding
    rasa_resolve: bool = False    # one replica per address behind each Rasa host name (compose)
    max_message_chars: int = 1000
    retention_days: int = 30
    rate_limit_per_minute: int = 30
    coach_session_hours: int = 8
    cookie_secure: bool = False
    public_url: str = ""
    telegram_token: str = ""
    telegram_webhook_secret: str = ""
    telegram_api_url: str = "https://api.telegram.org"
    telegram_rate_per_second: float = 30.0
    telegram_chat_rate_per_second: float = 1.0
    elks_username: str = ""
    elks_password: str = ""
    elks_webhook_secret: str = ""
    elks_from: str = "Lotsen"
    elks_api_url: str = "https://api.46elks.com"
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_from: str = ""
    twilio_api_url: str = "https://api.twilio.com"
    sms_rate_per_second: float = 5.0
    sms_default_provider: str = ""
    campaign_max_per_day: int = 1
    worker_concurrency: int = 32
    job_lease_seconds: float = 30.0
    elks_status_secret: str = ""
    elks_source_addresses: str = ""
    redis_max_connections: int = 16
    redis_pool_timeout_seconds: float = 5.0
    trusted_proxies: str = ""
    limit_exempt: str = ""
    limit_sessions_per_minute: int = 20
    limit_messages_per_minute: int = 60
    limit_bookings_per_day: int = 3
    limit_bookings_per_address_per_day: int = 10
    limit_leads_per_address_per_day: int = 5
    idle_session_minutes: int = 60
    dead_letter_days: int = 7
    audit_days: int = 365
    smtp_url: str = ""           # smtp://host:port, smtp://user:pw@host:587?starttls=true, smtps://
    mail_from: str = "lotsen@localhost"
    digest_hour: int = 7         # Stockholm hour of the daily SLA digest e-mail
    redis_memory_warn_ratio: float = 0.8
    embed_origins: str = ""
    hash_secret: str = ""
    log_level: str = "INFO"
    content_dir: Path = field(default=ROOT / "bot" / "content")
    config_dir: Path = field(default=ROOT / "config")
    locales_dir: Path = field(default=ROOT / "locales")

    @property
    def retention_seconds(self) -> int:
        return self.retention_days * 24 * 3600

    @property
    def secure_cookies(self) -> bool:
        """Cookies are `Secure` when asked for, and always when the public URL is https."""
        return self.cookie_secure or self.public_url.lower().startswith("https://")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Read every field from `LOTSEN_<FIELD>`; unknown or unset variables keep defaults."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(f"LOTSEN_{f.name.upper()}")
            if raw is None or raw == "":
                continue
            values[f.name] = _convert(f.name, raw, f.type)
        values.update(overrides)
        settings = cls(**values)  # type: ignore[arg-type]
        settings.validate()
        return settings

    def validate(self) -> None:
        if not 0 < self.port < 65536:
            raise ConfigError(f"LOTSEN_PORT must be 1-65535, got {self.port}")
        if not 0.0 <= self.nlu_threshold <= 1.0:
            raise ConfigError(f"LOTSEN_NLU_THRESHOLD must be 0-1, got {self.nlu_threshold}")
        if not 0.0 <= self.answer_threshold <= 1.0:
            raise ConfigError(f"LOTSEN_ANSWER_THRESHOLD must be 0-1, got {self.answer_threshold}")
        if not self.key_prefix or ":" in self.key_prefix:
            raise ConfigError("LOTSEN_KEY_PREFIX must be non-empty and contain no ':'")
        if self.max_message_chars < 1 or self.retention_days < 1 or self.audit_days < 1:
            raise ConfigError("LOTSEN_MAX_MESSAGE_CHARS, LOTSEN_RETENTION_DAYS and "
                              "LOTSEN_AUDIT_DAYS must be >= 1")
        if self.smtp_url:
            parts = urlsplit(self.smtp_url)
            try:
                port_ok = parts.port is None or parts.port > 0
            except ValueError:  # not a number, or over 65535
                port_ok = False
            if parts.scheme not in ("smtp", "smtps") or not parts.hostname or not port_ok:
                raise ConfigError("LOTSEN_SMTP_URL must look like smtp://host:25, "
                                  "smtp://user:password@host:587?starttls=true or "
                                  "smtps://user:password@host:465")
        if not 0 <= self.digest_hour <= 23:
            raise ConfigError("LOTSEN_DIGEST_HOUR must be 0-23")
        if self.max_in_flight < 0:
            raise ConfigError("LOTSEN_MAX_IN_FLIGHT must be >= 0 (0: no limit)")
        if self.nlu_budget_ms < 1 or self.nlu_concurrency < 1 or self.nlu_replicas < 1:
            raise ConfigError("LOTSEN_NLU_BUDGET_MS, LOTSEN_NLU_CONCURRENCY and "
                              "LOTSEN_NLU_REPLICAS must be >= 1")
        if not rasa_urls(self.rasa_url):
            raise ConfigError("LOTSEN_RASA_URL must name at least one Rasa server")
        for url in rasa_urls(self.rasa_url):
            if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
                raise ConfigError(f"LOTSEN_RASA_URL: {url!r} is not an http(s) URL")
        try:
            sentinels(self.redis_sentinels)
        except ValueError as exc:
            raise ConfigError(f"LOTSEN_REDIS_SENTINELS: {exc}") from None
        if self.redis_sentinels and not self.redis_service:
            raise ConfigError("LOTSEN_REDIS_SERVICE must name the master Sentinel monitors")
        if self.redis_max_connections < 2 or self.redis_pool_timeout_seconds <= 0:
            raise ConfigError("LOTSEN_REDIS_MAX_CONNECTIONS must be >= 2 and "
                              "LOTSEN_REDIS_POOL_TIMEOUT_SECONDS > 0")
        if self.sms_default_provider not in ("", "46elks", "twilio"):
            raise ConfigError("LOTSEN_SMS_DEFAULT_PROVIDER must be 46elks, twilio or empty, "
                              f"got {self.sms_default_provider!r}")
        if self.worker_concurrency < 1 or self.job_lease_seconds < 3:
            raise ConfigError("LOTSEN_WORKER_CONCURRENCY must be >= 1 and "
                              "LOTSEN_JOB_LEASE_SECONDS >= 3")
        if self.campaign_max_per_day < 1:
            raise ConfigError("LOTSEN_CAMPAIGN_MAX_PER_DAY must be >= 1")
        for name in ("trusted_proxies", "limit_exempt", "elks_source_addresses"):
            try:
                networks(getattr(self, name))
            except ValueError as exc:
                raise ConfigError(f"LOTSEN_{name.upper()}: {exc}") from None


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
        raise ConfigError(f"LOTSEN_{name.upper()}={raw!r} is not a valid {kind_name}") from exc
    return raw
