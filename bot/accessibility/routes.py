"""The statement's routes: `/tillganglighet` (Swedish), `/accessibility` (English) and its CSS.

The pages are rendered once, when the app is built: the facts only change with the config file,
which is read at start-up, so every request gets the same bytes and browsers may cache them.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.accessibility.facts import LANGUAGES, StatementFacts
from bot.accessibility.page import PATHS, STATIC_DIR, STATIC_PREFIX, render

CACHE_SECONDS = 600


def statement_routes(facts: StatementFacts) -> list[web.AbstractRouteDef]:
    routes: list[web.AbstractRouteDef] = [
        web.get(PATHS[language], _page(render(facts, language))) for language in LANGUAGES]
    routes.append(web.static(STATIC_PREFIX, STATIC_DIR))
    return routes


def _page(html: str) -> Handler:
    body = html.encode("utf-8")

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="text/html", charset="utf-8",
                            headers={"Cache-Control": f"public, max-age={CACHE_SECONDS}"})

    return handler
