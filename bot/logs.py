"""One-line JSON logs that cannot carry personal data or secrets.

Two allow-lists decide what a line may hold:
- loggers: Lotsen's own (`lotsen.*`) write their event name and the whitelisted fields below;
  every other library (httpx, httpcore, python-telegram-bot, aiohttp, redis, asyncio, ...) may
  only say *that* something went wrong: its logger, the level and the exception type, at
  WARNING and above. Their messages are never written, because they carry request URLs (the
  Telegram bot token is part of every Bot API URL), payloads, chat ids and texts;
- fields: only those in SAFE_FIELDS; an exception is written as its type, never its message
  (a message can quote the input that caused it).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import TextIO

OWN_LOGGERS = "lotsen"
SAFE_FIELDS = ("channel", "language", "intent", "confidence", "fallback", "route", "method",
               "status", "ms", "detail", "service", "port", "count")
QUIET_LIBRARIES = ("httpx", "httpcore", "telegram", "hpack", "aiohttp.access", "urllib3",
                   "asyncio", "redis")


def own(record: logging.LogRecord) -> bool:
    return record.name == OWN_LOGGERS or record.name.startswith(OWN_LOGGERS + ".")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        if own(record):
            entry["event"] = str(record.msg)  # the event name, never %-formatted arguments
            for name in SAFE_FIELDS:
                if hasattr(record, name):
                    entry[name] = getattr(record, name)
        else:
            entry["event"] = "library_log"
        if record.exc_info and record.exc_info[0] is not None:
            entry["error"] = record.exc_info[0].__name__
        return json.dumps(entry, ensure_ascii=False)


class PrivacyFilter(logging.Filter):
    """Lotsen's own records at any enabled level; other libraries' only from WARNING up (and
    the formatter writes none of their words)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("aiohttp.access"):
            return False  # its lines are request paths (session ids) and client addresses
        return own(record) or record.levelno >= logging.WARNING


def configure(level: str = "INFO", stream: TextIO | None = None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(PrivacyFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in QUIET_LIBRARIES:  # no work spent on records the filter would drop anyway
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler
