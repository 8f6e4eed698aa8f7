"""A date range of the daily counters, read back as totals, rows and chart series.

The JSON of `GET /coach/api/stats` is `StatsQuery.load(...)` as it is; the Statistik page, the
CSV and the monthly report all read it, so they show the same numbers.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from bot.core import batch
from bot.core.keys import Keys
from bot.core.redis_types import Command, StrRedis
from bot.core.stats.counters import COUNTERS, EXTRA, SATISFACTION_PREFIX, SCORES, SEPARATOR, Cell
from bot.core.stats.recorder import DAYS_KEPT, STATS_CLAIMS, STATS_DAY

MAX_DAYS = DAYS_KEPT
TOP_TOPICS = 10
Json = dict[str, Any]


class StatsRangeError(ValueError):
    """A date range the statistics cannot answer (the message names what is wrong)."""


@dataclass(frozen=True)
class Filters:
    channel: str | None = None
    language: str | None = None
    district: str | None = None

    def keep(self, cell: Cell) -> bool:
        return ((self.channel is None or cell.channel == self.channel)
                and (self.language is None or cell.language == self.language)
                and (self.district is None or cell.district == self.district))

    def as_json(self) -> dict[str, str | None]:
        return {"channel": self.channel, "language": self.language, "district": self.district}


def parse_range(first: str | None, last: str | None, today: date) -> tuple[date, date]:
    """`from` and `to` as dates (default: the last 30 days up to today), checked."""
    try:
        end = date.fromisoformat(last) if last else today
    except ValueError:
        raise StatsRangeError('"to" must be a date, YYYY-MM-DD') from None
    try:
        start = date.fromisoformat(first) if first else end - timedelta(days=29)
    except ValueError:
        raise StatsRangeError('"from" must be a date, YYYY-MM-DD') from None
    if start > end:
        raise StatsRangeError('"from" must not be after "to"')
    if (end - start).days + 1 > MAX_DAYS:
        raise StatsRangeError(f"at most {MAX_DAYS} days at a time (statistics are kept 3 years)")
    return start, end


def empty_counts() -> Json:
    counts: Json = {name: 0 for name in (*COUNTERS, *EXTRA)}
    counts["satisfaction"] = {score: 0 for score in SCORES}
    return counts


def _add(counts: Json, counter: str, n: int) -> None:
    if counter.startswith(SATISFACTION_PREFIX):
        score = counter.removeprefix(SATISFACTION_PREFIX)
        counts["satisfaction"][score] += n
    elif counter in counts:
        counts[counter] += n


def _share(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


def _percentile(values: list[int], share: float) -> float | None:
    """The nearest-rank percentile (a value that occurred: "9 of 10 were claimed within")."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))
    return float(ordered[int(rank) - 1])


class StatsQuery:
    def __init__(self, *, redis: StrRedis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def load(self, start: date, end: date, filters: Filters = Filters()) -> Json:
        days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
        commands: list[Command] = [("HGETALL", self.keys(STATS_DAY, day=d.isoformat()))
                                   for d in days]
        commands += [("LRANGE", self.keys(STATS_CLAIMS, day=d.isoformat()), 0, -1) for d in days]
        replies = await batch.run(self.redis, commands)
        hashes, claims = replies[:len(days)], replies[len(days):]
        totals = empty_counts()
        rows: dict[tuple[str, str, str], Json] = {}
        topics: dict[str, Json] = defaultdict(empty_counts)
        languages: dict[str, Json] = defaultdict(empty_counts)
        for day, reply in zip(days, hashes, strict=True):
            for field, value in batch.as_hash(reply).items():
                counter, cell = Cell.parse(field)
                if not filters.keep(cell):
                    continue
                n = int(value)
                _add(totals, counter, n)
                row = rows.get((day.isoformat(), cell.channel, cell.language))
                if row is None:
                    row = {"day": day.isoformat(), "channel": cell.channel,
                           "language": cell.language, **empty_counts()}
                    rows[(day.isoformat(), cell.channel, cell.language)] = row
                _add(row, counter, n)
                if cell.topic:
                    _add(topics[cell.topic], counter, n)
                _add(languages[cell.language], counter, n)
        seconds, within = [], 0
        for reply in claims:
            for entry in reply or []:
                channel, language, topic, district, spent, kept = entry.split(SEPARATOR)
                if filters.keep(Cell(channel, language, topic, district)):
                    seconds.append(int(spent))
                    within += kept == "1"
        time_to_claim = {"claims": len(seconds),
                         "median_seconds": float(statistics.median(seconds)) if seconds else None,
                         "p90_seconds": _percentile(seconds, 0.9), "within_sla": within}
        result: Json = {
            "from": start.isoformat(), "to": end.isoformat(), "filters": filters.as_json(),
            "totals": totals, "days": [rows[key] for key in sorted(rows)],
            "topics": _topics(topics), "languages": _languages(languages),
            "time_to_claim": time_to_claim,
            "key_figures": key_figures(totals, time_to_claim),
        }
        return result


def _topics(topics: dict[str, Json]) -> list[Json]:
    listed = [{"topic": name, "messages": c["messages"], "answered": c["answered"],
               "specific_answers": c["specific_answers"], "helped": c["helped"],
               "not_helped": c["not_helped"], "handovers_requested": c["handovers_requested"]}
              for name, c in topics.items()]
    return sorted(listed, key=lambda t: (-t["answered"], -t["messages"], t["topic"]))


def _languages(languages: dict[str, Json]) -> list[Json]:
    return [{"language": code, "conversations": c["conversations"], "messages": c["messages"],
             "not_understood": c["not_understood"] + c["clarified"],
             "not_understood_share": _share(c["not_understood"] + c["clarified"], c["messages"])}
            for code, c in sorted(languages.items())]


def key_figures(totals: Json, time_to_claim: Json) -> Json:
    """The figures the page and the report lead with (their definitions: docs/statistics.md)."""
    scores: Counter[int] = Counter({int(s): n for s, n in totals["satisfaction"].items()})
    answers = sum(scores.values())
    mean = round(sum(s * n for s, n in scores.items()) / answers, 2) if answers else None
    return {
        "people_helped": totals["conversations_answered"] + totals["handovers_claimed"],
        "conversations": totals["conversations"],
        "answered_share": _share(totals["answered"], totals["messages"]),
        "handed_over_share": _share(totals["handovers_consented"], totals["conversations"]),
        "median_seconds_to_claim": time_to_claim["median_seconds"],
        "attendance_share": _share(totals["attended"], totals["attended"] + totals["no_show"]),
        "satisfaction_mean": mean,
        "satisfaction_answers": answers,
    }
