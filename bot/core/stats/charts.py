"""The charts of the Statistik page and the monthly report, as data: a title, a one-sentence
summary, and the numbers as table columns and rows. The SVG is drawn from these same series
(bot/core/stats/svg.py), and each chart is shown with its table, so the picture and the table
cannot disagree. Texts are Swedish, the staff panel's and the committee's language."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Literal, TypedDict

from bot.core.stats.query import TOP_TOPICS

Kind = Literal["line", "bar"]


class Chart(TypedDict):
    id: str
    title: str
    kind: Kind            # line: one line per column over the rows; bar: grouped bars
    summary: str          # the chart in one sentence, for a screen reader and the report
    columns: list[str]    # the first names the row labels, then one per series
    rows: list[list[Any]]  # [label, value, value, ...]
    percent: bool         # values are shares from 0 to 1, shown as per cent


def _days(stats: dict[str, Any]) -> list[str]:
    first, last = date.fromisoformat(stats["from"]), date.fromisoformat(stats["to"])
    return [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f} %"


def conversations_by_channel(stats: dict[str, Any]) -> Chart:
    channels = sorted({row["channel"] for row in stats["days"]})
    per_day = {(row["day"], row["channel"]): 0 for row in stats["days"]}
    for row in stats["days"]:
        per_day[(row["day"], row["channel"])] += row["conversations"]
    rows: list[list[Any]] = [[day, *(per_day.get((day, ch), 0) for ch in channels)]
                             for day in _days(stats)]
    totals = {ch: sum(per_day.get((day, ch), 0) for day in _days(stats)) for ch in channels}
    busiest = max(rows, key=lambda r: sum(r[1:]))
    summary = "Inga samtal under perioden." if not any(totals.values()) else (
        "Samtal per kanal under perioden: " + ", ".join(f"{ch} {n}" for ch, n in totals.items())
        + f"; flest den {busiest[0]} ({sum(busiest[1:])}).")
    return {"id": "conversations", "title": "Samtal per dag och kanal", "kind": "line",
            "summary": summary, "columns": ["Dag", *channels], "rows": rows, "percent": False}


def languages(stats: dict[str, Any]) -> Chart:
    rows: list[list[Any]] = [[entry["language"], entry["conversations"], entry["messages"]]
                             for entry in stats["languages"]]
    rows.sort(key=lambda r: (-r[1], r[0]))
    summary = "Inga samtal under perioden." if not rows else (
        "Samtal per språk: " + ", ".join(f"{r[0]} {r[1]}" for r in rows) + ".")
    return {"id": "languages", "title": "Språk", "kind": "bar", "summary": summary,
            "columns": ["Språk", "Samtal", "Meddelanden"], "rows": rows, "percent": False}


def top_topics(stats: dict[str, Any]) -> Chart:
    rows: list[list[Any]] = [[t["topic"], t["answered"], t["helped"], t["not_helped"]]
                             for t in stats["topics"][:TOP_TOPICS]]
    summary = "Inga ämnen besvarade under perioden." if not rows else (
        f"Vanligaste ämnet: {rows[0][0]} ({rows[0][1]} svar). "
        f"{len(rows)} ämnen visas.")
    return {"id": "topics", "title": "Vanligaste ämnen", "kind": "bar", "summary": summary,
            "columns": ["Ämne", "Besvarade", "Det hjälpte", "Det hjälpte inte"], "rows": rows,
            "percent": False}


def not_understood(stats: dict[str, Any]) -> Chart:
    rows: list[list[Any]] = [[entry["language"], entry["not_understood_share"]]
                             for entry in stats["languages"] if entry["messages"]]
    summary = "Inga meddelanden under perioden." if not rows else (
        "Andel meddelanden som inte förstods: "
        + ", ".join(f"{r[0]} {_pct(r[1])}" for r in rows) + ".")
    return {"id": "not_understood", "title": "Andel som inte förstods, per språk",
            "kind": "bar", "summary": summary, "columns": ["Språk", "Andel inte förstådda"],
            "rows": rows, "percent": True}


def bookings(stats: dict[str, Any]) -> Chart:
    per_day: dict[str, list[int]] = {day: [0, 0, 0] for day in _days(stats)}
    for row in stats["days"]:
        counts = per_day[row["day"]]
        counts[0] += row["bookings_made"]
        counts[1] += row["attended"]
        counts[2] += row["no_show"]
    rows: list[list[Any]] = [[day, *counts] for day, counts in per_day.items()]
    made, came, missed = (sum(r[i] for r in rows) for i in (1, 2, 3))
    summary = (f"{made} bokningar under perioden; {came} kom och {missed} kom inte"
               f" (av dem som markerats).")
    return {"id": "bookings", "title": "Bokningar och närvaro", "kind": "line",
            "summary": summary, "columns": ["Dag", "Bokade", "Kom", "Kom inte"], "rows": rows,
            "percent": False}


def satisfaction(stats: dict[str, Any]) -> Chart:
    scores = stats["totals"]["satisfaction"]
    rows: list[list[Any]] = [[score, scores[score]] for score in sorted(scores)]
    mean = stats["key_figures"]["satisfaction_mean"]
    answers = stats["key_figures"]["satisfaction_answers"]
    summary = "Inga svar på nöjdhetsfrågan under perioden." if not answers else (
        f"{answers} svar, medelvärde {str(mean).replace('.', ',')} av 5.")
    return {"id": "satisfaction", "title": "Nöjdhet (1–5)", "kind": "bar", "summary": summary,
            "columns": ["Betyg", "Svar"], "rows": rows, "percent": False}


def all_charts(stats: dict[str, Any]) -> list[Chart]:
    return [conversations_by_channel(stats), languages(stats), top_topics(stats),
            not_understood(stats), bookings(stats), satisfaction(stats)]
