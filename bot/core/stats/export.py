"""The statistics as CSV: one row per day × channel × language, every count under 5 shown as
"<5" (a small group in one district could be recognised; the JSON for operators is exact)."""

from __future__ import annotations

import csv
import io
from typing import Any

from bot.core.stats.counters import COUNTERS, SATISFACTION_PREFIX, SCORES, SMALL

COLUMNS: tuple[str, ...] = ("day", "channel", "language", *COUNTERS,
                            *(SATISFACTION_PREFIX + score for score in SCORES))


def shown(count: int) -> str:
    """A count as published: under SMALL it is "<5"."""
    return f"<{SMALL}" if count < SMALL else str(count)


def csv_text(stats: dict[str, Any]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in stats["days"]:
        writer.writerow([row["day"], row["channel"], row["language"],
                         *(shown(row[name]) for name in COUNTERS),
                         *(shown(row["satisfaction"][score]) for score in SCORES)])
    return buffer.getvalue()
