"""The statistics for operators: `GET /coach/api/stats` (JSON, exact numbers, with the charts'
series and their SVG) and `GET /coach/api/stats.csv` (counts under 5 as "<5").

Both take `from` and `to` (YYYY-MM-DD; default the last 30 days) and the filters `channel`,
`language` and `district`; an unknown value is a 400 that names the parameter.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.coach.accounts import Coach, Role
from bot.coach.guard import SessionGuard
from bot.core.stats.charts import all_charts
from bot.core.stats.export import csv_text
from bot.core.stats.query import Filters, StatsQuery, StatsRangeError, parse_range
from bot.core.stats.recorder import StatsRecorder
from bot.http import bad_request


class StatsRoutes:
    def __init__(self, query: StatsQuery, recorder: StatsRecorder, guard: SessionGuard, *,
                 channels: list[str], languages: list[str], districts: list[str]) -> None:
        self.query = query
        self.recorder = recorder
        self.guard = guard
        self.allowed = {"channel": channels, "language": languages, "district": districts}

    def routes(self) -> list[web.AbstractRouteDef]:
        operator = Role.OPERATOR
        return [web.get("/coach/api/stats", self.guard(self.as_json, role=operator)),
                web.get("/coach/api/stats.csv", self.guard(self.as_csv, role=operator))]

    async def _load(self, request: web.Request) -> dict[str, Any]:
        query = request.query
        try:
            start, end = parse_range(query.get("from"), query.get("to"), self.recorder.today())
        except StatsRangeError as exc:
            raise bad_request(str(exc)) from None
        chosen: dict[str, str | None] = {}
        for name, allowed in self.allowed.items():
            value = query.get(name) or None
            if value is not None and value not in allowed:
                raise bad_request(f'"{name}" must be one of {", ".join(allowed)} (or left out).')
            chosen[name] = value
        filters = Filters(chosen["channel"], chosen["language"], chosen["district"])
        return await self.query.load(start, end, filters)

    async def as_json(self, request: web.Request, coach: Coach) -> web.Response:
        stats = await self._load(request)
        charts = all_charts(stats)
        render = _renderer()
        drawn = await asyncio.to_thread(lambda: [render(chart) for chart in charts])
        stats["charts"] = [{**chart, "svg": svg} for chart, svg in zip(charts, drawn,
                                                                        strict=True)]
        stats["options"] = self.allowed
        return web.json_response(stats)

    async def as_csv(self, request: web.Request, coach: Coach) -> web.Response:
        stats = await self._load(request)
        name = f"lotsen-statistik-{stats['from']}-{stats['to']}.csv"
        return web.Response(text=csv_text(stats), content_type="text/csv", headers={
            "Content-Disposition": f'attachment; filename="{name}"'})


def _renderer() -> Callable[[Any], str]:
    """The SVG renderer (matplotlib, imported on first use: start-up does not pay for it)."""
    from bot.core.stats.svg import render
    return render
