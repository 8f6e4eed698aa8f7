"""One-line JSON logs. Only whitelisted fields are written, so message text never reaches a log."""

from __future__ import annotations

import json
import logging
import sys
import time

SAFE_FIELDS = ("channel", "language", "intent", "confidence", "fallback", "route", "method",
               "status", "ms", "detail", "service", "port", "count")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for name in SAFE_FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(entry, ensure_ascii=False)


class PrivacyFilter(logging.Filter):
    """Drops log records that would carry a path with a session id or a phone number
    (aiohttp's access log); our own request log names the route pattern instead."""

    BLOCKED = ("aiohttp.access",)

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.name.startswith(self.BLOCKED)


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(PrivacyFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
