"""Settings from `LOTSEN_*` environment variables (documented in `.env.example`).

One frozen object is built at start-up and passed around, so a process never reads the
environment twice and tests can build their own settings without touching `os.environ`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class ConfigError(ValueError):
    """A setting has a value the service cannot run with."""


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    redis_url: str = "redis://127.0.0.1:6379/0"
    key_prefix: str = "lotsen"
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: str = ""
    admin_token: str = ""
    default_language: str = "sv"
    nlu_threshold: float = 0.5
    nlu_timeout_seconds: float = 3.0
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
    log_level: str = "INFO"
    content_dir: Path = field(default=ROOT / "bot" / "content")
    config_dir: Path = field(default=ROOT / "config")
    locales_dir: Path = field(default=ROOT / "locales")

    @property
    def retention_seconds(self) -> int:
        return self.retention_days * 24 * 3600

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
        if not self.key_prefix or ":" in self.key_prefix:
            raise ConfigError("LOTSEN_KEY_PREFIX must be non-empty and contain no ':'")
        if self.max_message_chars < 1 or self.retention_days < 1:
            raise ConfigError("LOTSEN_MAX_MESSAGE_CHARS and LOTSEN_RETENTION_DAYS must be >= 1")


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
